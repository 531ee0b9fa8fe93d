"""What one execution costs: queries and Redis round trips of the execute request and of the worker.

The benchmark (bench/task_api_throughput.py) measures the CPU; these pin the round trips it
comes from, so a change that adds one per execution shows here.
"""

import threading
import uuid

import pytest
from celery.app.trace import build_tracer
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_celery_results.models import TaskResult
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from live.models import Event
from task_api import events
from task_api.models import TaskExecution
from task_api.registry import registry
from task_api.services import EXECUTION_HEADER, lifecycle

URL = "/api/v1/task-api/execute/"
ADD_BODY = {"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": {}}


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.services
def test_an_execute_is_one_query_and_three_redis_round_trips_with_warm_caches(
    runner, sent, settings, redis_round_trips, django_assert_num_queries
):
    settings.PERMISSIONS_CACHE_SECONDS = 300
    settings.AUTH_CACHE_SECONDS = 60
    client = token_client(runner)
    assert client.post(URL, ADD_BODY, format="json").status_code == 202  # fills the caches
    redis_round_trips.clear()

    with django_assert_num_queries(1):  # the INSERT
        response = client.post(URL, ADD_BODY, format="json")

    assert response.status_code == 202
    # The token's user, the permission set, and the rate limit with the execute cap (one pipeline).
    assert len(redis_round_trips) == 3, redis_round_trips
    assert response["X-RateLimit-Remaining"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_submit_and_wait_is_one_query_when_the_finish_is_announced(
    runner, client_for, fresh_watcher, monkeypatch, django_assert_num_queries
):
    """The listener is registered before the message leaves, so the row is not read before the
    finish, and the announcement carries what the finish changed, so not after it either."""

    def finish_soon(args=None, kwargs=None, headers=None, **options):
        def finish():
            try:
                execution_id = headers[EXECUTION_HEADER]
                assert lifecycle.execution_claim(execution_id=execution_id, time_limit=None)
                lifecycle.execution_succeeded(execution_id=execution_id, result=3)
            finally:
                connections.close_all()

        threading.Timer(0.2, finish).start()

    for entry in registry.all():
        monkeypatch.setattr(entry.task, "apply_async", finish_soon)
    client = client_for(runner)
    assert client.post(URL, ADD_BODY, format="json").status_code == 202  # caches the permission set

    with django_assert_num_queries(1) as queries:  # the INSERT
        response = client.post(f"{URL}?wait=10", ADD_BODY, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["result"]) == ("SUCCESS", 3)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert response.json() == client.get(f"/api/v1/task-api/executions/{response.json()['id']}/").json()


def run_like_a_worker(message) -> list[str]:
    """Run one sent API message as a worker process would -> the first word of each data statement."""
    task = registry.get("task_api.tasks.add").task
    trace = build_tracer(task.name, task, app=task.app)  # what a worker process runs per message
    with CaptureQueriesContext(connection) as queries:
        trace(message["task_id"], message["args"], message["kwargs"],
              {"id": message["task_id"], **message["headers"], "delivery_info": {}})
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # Transaction control aside (the SUCCESS and its receivers' writes commit together).
    return [statement for statement in statements if statement not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_announces_the_finish_and_wakes_live_streams_in_one_redis_round_trip(
    runner, client_for, sent, redis_round_trips
):
    """Both messages leave after the commit, in one pipeline (core.pubsub.batched_publishes)."""
    body = client_for(runner).post(URL, ADD_BODY, format="json").json()
    redis_round_trips.clear()

    run_like_a_worker(sent[-1])

    assert TaskExecution.objects.get(pk=body["execution_id"]).status == "SUCCESS"
    assert Event.objects.filter(kind=Event.Kind.EXECUTION_UPDATED, user=runner).count() == 1
    # Nothing else goes to Redis (a new connection's handshake aside).
    trips = [b"".join(trip) for trip in redis_round_trips]
    trips = [trip for trip in trips if b"\r\nHELLO\r\n" not in trip and b"\r\nCLIENT\r\n" not in trip]
    assert len(trips) == 1, trips
    sent_bytes = trips[0]
    assert sent_bytes.count(b"PUBLISH") == 2
    assert b":task_api:finished" in sent_bytes and b":live:events" in sent_bytes
    assert body["execution_id"].encode() in sent_bytes and f"u:{runner.pk}".encode() in sent_bytes


# The worker's finish on PostgreSQL: the django-celery-results row rides in the SUCCESS UPDATE's
# statement (a CTE); elsewhere it is its own INSERT, in the same transaction.
FINISH = ["WITH"] if connection.vendor == "postgresql" else ["INSERT", "UPDATE"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_an_execution_in_two_statements(runner, client_for, sent, monkeypatch):
    """Claim, then the SUCCESS with the django-celery-results row: what the worker's trace of one
    API message runs (three statements on SQLite, which has no INSERT inside a WITH).

    The receivers of `execution_finished` (webhooks, live) are left out: this is the task API's own part.
    """
    monkeypatch.setattr(events.execution_finished, "receivers", [])
    monkeypatch.setattr(events.execution_finished, "sender_receivers_cache", {})
    monkeypatch.setattr(events, "announce_finished", lambda execution_id, shown=None: None)
    body = client_for(runner).post(URL, ADD_BODY, format="json").json()
    message = sent[-1]

    data = run_like_a_worker(message)

    execution = TaskExecution.objects.get(pk=body["execution_id"])
    assert (execution.status, execution.result) == ("SUCCESS", 3)
    assert data == ["UPDATE", *FINISH]
    assert uuid.UUID(message["task_id"]) == uuid.UUID(execution.celery_task_id)
    assert TaskResult.objects.values_list("status", "result").get(task_id=message["task_id"]) == ("SUCCESS", "3")


@pytest.mark.django_db(transaction=True)
def test_the_receivers_of_a_finish_add_only_the_live_event_insert(runner, client_for, sent, settings):
    """The SUCCESS UPDATE answers what the live event and the webhooks check need (RETURNING):
    no read of the row; the live event's INSERT takes the writer lock itself on PostgreSQL."""
    settings.WEBHOOK_LISTENERS_CACHE_SECONDS = 300  # nobody subscribed: the webhooks check costs no query
    client = client_for(runner)
    client.post(URL, ADD_BODY, format="json")
    run_like_a_worker(sent[-1])  # fills the webhook listeners cache
    body = client.post(URL, ADD_BODY, format="json").json()

    data = run_like_a_worker(sent[-1])

    # Claim, the SUCCESS with the django-celery-results row, the live event.
    live_insert = "WITH" if connection.vendor == "postgresql" else "INSERT"
    assert data == ["UPDATE", *FINISH, live_insert]
    event = Event.objects.get(kind=Event.Kind.EXECUTION_UPDATED, data__id=body["execution_id"])
    execution = TaskExecution.objects.get(pk=body["execution_id"])
    assert (event.user_id, event.data["status"], event.data["task_name"]) == (runner.pk, "SUCCESS", execution.task_name)
