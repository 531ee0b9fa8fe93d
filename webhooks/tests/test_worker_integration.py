"""End to end with real processes: a Celery worker on Redis and PostgreSQL, and a real HTTP
receiver (http.server in a thread of this process, 127.0.0.1, ephemeral port)."""

import os
import statistics
import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from conftest import wait_for
from notifications.models import Notification
from notifications.tests.test_worker_integration import broker_unreachable
from tasks.services import task_create
from webhooks.models import Webhook, WebhookDelivery
from webhooks.outbox import deliveries_sweep
from webhooks.signing import verify

pytestmark = pytest.mark.services

WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOK_RETRY_DELAYS": "1,1,1"}


@pytest.fixture
def worker(celery_process):
    return celery_process("worker", env=WORKER_ENV)


@pytest.fixture
def owner(transactional_db):
    return UserFactory(email="hooked@example.com")


def subscribe(client, receiver, events):
    response = client.post(reverse("webhook-list"), {"url": receiver.url, "events": events}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def status_of(delivery_id):
    return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()


def test_a_task_created_over_the_api_arrives_signed(receiver, worker, owner, client_for):
    client = client_for(owner)
    secret = subscribe(client, receiver, ["task.created"])["secret"]

    task = client.post(reverse("task-list"), {"title": "Webhook me"}, format="json").json()

    wait_for(lambda: receiver.requests, 60, message="the delivery to arrive")
    [request] = receiver.requests
    headers = request["headers"]
    assert verify(secret, request["body"], headers["X-Taskhub-Timestamp"], headers["X-Taskhub-Signature"])
    body = receiver.bodies()[0]
    assert (body["event"], body["data"]["id"], body["data"]["title"]) == ("task.created", task["id"], "Webhook me")
    assert body["id"] == headers["X-Taskhub-Delivery"]
    wait_for(lambda: status_of(body["id"]) == "succeeded", 30, message="the delivery to be recorded")


def ping_until(client, receiver, statuses, final):
    """Subscribe to pings, have the receiver answer `statuses` (then 200), ping, and wait until
    the delivery is `final`; -> (webhook, delivery id)."""
    webhook = subscribe(client, receiver, ["ping"])
    receiver.statuses = list(statuses)
    delivery_id = client.post(reverse("webhook-ping", args=[webhook["id"]])).json()["id"]
    wait_for(lambda: status_of(delivery_id) == final, 60, message=f"the delivery to be {final}")
    return webhook, delivery_id


def test_a_500_is_retried_and_succeeds_with_the_same_delivery_id(receiver, worker, owner, client_for):
    client = client_for(owner)

    webhook, delivery_id = ping_until(client, receiver, [500], "succeeded")

    assert [r["status"] for r in receiver.requests] == [500, 200]
    assert {r["headers"]["X-Taskhub-Delivery"] for r in receiver.requests} == {delivery_id}
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.attempts, delivery.response_status) == (2, 200)
    listed = client.get(reverse("webhook-delivery-list", args=[webhook["id"]])).json()["results"]
    assert (listed[0]["id"], listed[0]["status"], listed[0]["attempts"]) == (delivery_id, "succeeded", 2)


def test_a_410_disables_the_webhook_and_notifies_the_owner(receiver, worker, owner, client_for):
    client = client_for(owner)

    webhook, _ = ping_until(client, receiver, [410], "failed")

    assert client.get(reverse("webhook-detail", args=[webhook["id"]])).json()["is_active"] is False
    notification = Notification.objects.get(recipient=owner)
    assert notification.kind == "webhook_disabled" and "410" in notification.message
    assert len(receiver.requests) == 1


def test_nothing_is_lost_while_the_broker_is_down_and_each_delivery_arrives_once(
    receiver, celery_process, owner, client_for
):
    client = client_for(owner)
    subscribe(client, receiver, ["task.created", "task.updated"])

    with broker_unreachable():
        ids = [client.post(reverse("task-list"), {"title": f"Outage {n}"}, format="json").json()["id"]
               for n in range(5)]
        client.patch(reverse("task-detail", args=[ids[0]]), {"priority": "high"}, format="json")
    assert WebhookDelivery.objects.filter(status="pending").count() == 6

    celery_process("worker", env=WORKER_ENV)
    # Two sweeps at once (two beats, a duplicated tick) queue every delivery twice: the claim
    # lets exactly one message send each.
    later = timezone.now() + timedelta(minutes=5)
    assert deliveries_sweep(now=later) == 6
    assert deliveries_sweep(now=later) == 6

    wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 6, 60,
             message="every delivery to succeed")
    time.sleep(1)  # room for a duplicate to show up, if the claim let one through
    delivered = Counter(r["headers"]["X-Taskhub-Delivery"] for r in receiver.requests)
    assert sorted(delivered.values()) == [1] * 6
    assert {str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)} == set(delivered)
    assert sorted(b["data"]["id"] for b in receiver.bodies() if b["event"] == "task.created") == sorted(ids)
    assert deliveries_sweep(now=later) == 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the prefork pool), from /proc."""
    total = 0.0
    for child in [pid, *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                            .stdout.split())]:
        with open(f"/proc/{child}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def test_delivery_latency_from_commit_to_receiver(receiver, worker, owner):
    """Not asserted on time: prints p50/p95 over 200 events (commit -> request at the receiver),
    and the worker's CPU per delivery."""
    Webhook.objects.create(owner=owner, url=receiver.url, events=["task.created"], secret="whsec_bench")
    committed = {}
    arrived = {}
    receiver.on_request = lambda request: arrived.setdefault(request["body"], time.time())
    count = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "200"))
    cpu_before = time.process_time()
    worker_cpu_before = cpu_seconds(worker.proc.pid)
    for n in range(count):
        with transaction.atomic():
            task = task_create(creator=owner, title=f"Bench {n}")
        committed[task.id] = time.time()
        time.sleep(0.02)  # paced (~40/s): the latency of one event, not of a backlog
    web_cpu_ms = (time.process_time() - cpu_before) * 1000 / count

    wait_for(lambda: len(receiver.requests) >= count, 300, message="every delivery")
    wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == count, 120,
             message="every delivery recorded")
    worker_cpu_ms = (cpu_seconds(worker.proc.pid) - worker_cpu_before) * 1000 / count
    import json

    latencies = sorted(
        (arrived[body] - committed[json.loads(body)["data"]["id"]]) * 1000 for body in arrived
    )
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\nwebhook latency commit->receiver over {count} events: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {latencies[-1]:.1f} ms; web-side CPU per event (task_create + outbox) {web_cpu_ms:.2f} ms; "
          f"worker CPU per delivery {worker_cpu_ms:.2f} ms; "
          f"load {os.getloadavg()}")
    assert len(latencies) == count
