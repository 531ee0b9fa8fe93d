"""The webhooks API (SPEC §10): CRUD of one's own webhooks, the secret shown once, rotate,
ping, the deliveries log and redeliver, the cap, bad input, and API-key scopes."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from accounts.tests.factories import UserFactory
from webhooks.models import Webhook, WebhookDelivery
from webhooks.signing import SECRET_PREFIX

from .factories import DeliveryFactory, WebhookFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/webhooks/"
FIELDS = {"id", "url", "events", "is_active", "created_at", "last_delivery_at", "failure_count"}
DELIVERY_FIELDS = {"id", "event", "status", "attempts", "response_status", "duration_ms", "next_attempt_at",
                   "created_at", "last_error"}


def detail(webhook, suffix=""):
    return f"{LIST}{webhook.id}/{suffix}"


@pytest.fixture
def owner():
    return UserFactory(email="owner@example.com")


@pytest.fixture
def client(client_for, owner):
    return client_for(owner)


def create(client, **body):
    return client.post(LIST, {"url": "https://hooks.example.com/in", "events": ["task.created"], **body},
                       format="json")


def test_create_answers_the_secret_once(client, queued):
    response = create(client, events=["task.updated", "task.created", "task.created"])

    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS | {"secret"}
    assert body["secret"].startswith(SECRET_PREFIX) and len(body["secret"]) > 40
    # Once each, in the documented order.
    assert body["events"] == ["task.created", "task.updated"]
    assert (body["is_active"], body["failure_count"], body["last_delivery_at"]) == (True, 0, None)
    shown = client.get(detail(Webhook.objects.get())).json()
    listed = client.get(LIST).json()["results"]
    assert set(shown) == FIELDS and "secret" not in listed[0]
    assert Webhook.objects.get().secret == body["secret"]


def test_rotate_secret_answers_a_new_secret_that_signs_from_now_on(client, owner):
    webhook = WebhookFactory(owner=owner)

    response = client.post(detail(webhook, "rotate_secret/"))

    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != webhook.secret and new.startswith(SECRET_PREFIX)
    webhook.refresh_from_db()
    assert webhook.secret == new


def test_patch_changes_what_is_sent_and_reactivating_resets_the_failure_count(client, owner):
    webhook = WebhookFactory(owner=owner, is_active=False, failure_count=50, disabled_reason="410")

    response = client.patch(detail(webhook), {"is_active": True, "events": ["ping"],
                                              "url": "https://other.example.com/x"}, format="json")

    assert response.status_code == 200
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0, "url": "https://other.example.com/x", "events": ["ping"], "is_active": True,
        "created_at": "", "last_delivery_at": None, "failure_count": 0,
    }
    webhook.refresh_from_db()
    assert webhook.disabled_reason == ""


def test_turning_off_keeps_the_failure_count(client, owner):
    webhook = WebhookFactory(owner=owner, failure_count=3)

    assert client.patch(detail(webhook), {"is_active": False}, format="json").json()["failure_count"] == 3


def test_delete_removes_the_webhook_and_its_deliveries(client, owner):
    delivery = DeliveryFactory(webhook=WebhookFactory(owner=owner))

    assert client.delete(detail(delivery.webhook)).status_code == 204
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "method, suffix",
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "rotate_secret/"), ("post", "ping/"),
     ("get", "deliveries/")],
)
def test_another_users_webhook_is_a_404(client_for, method, suffix, queued):
    webhook = WebhookFactory()
    stranger = client_for(UserFactory())

    response = getattr(stranger, method)(detail(webhook, suffix), {}, format="json")

    assert response.status_code == 404
    webhook.refresh_from_db()
    assert webhook.is_active


def test_redeliver_of_another_users_delivery_is_a_404(client_for, owner, queued):
    theirs = DeliveryFactory()
    mine = WebhookFactory(owner=owner)
    client = client_for(owner)

    # Not through their webhook, nor through mine.
    assert client.post(detail(theirs.webhook, f"deliveries/{theirs.id}/redeliver/")).status_code == 404
    assert client.post(detail(mine, f"deliveries/{theirs.id}/redeliver/")).status_code == 404
    assert queued == []


def test_list_shows_only_own_webhooks_newest_first_in_fixed_queries(client, owner, django_assert_max_num_queries):
    mine = [WebhookFactory(owner=owner) for _ in range(3)]
    WebhookFactory()

    with django_assert_max_num_queries(2):
        body = client.get(LIST).json()

    assert [w["id"] for w in body["results"]] == [w.id for w in reversed(mine)]
    with django_assert_max_num_queries(1):
        assert client.get(detail(mine[0])).status_code == 200


def test_ping_queues_a_ping_delivery_and_answers_202(client, owner, queued, django_capture_on_commit_callbacks):
    webhook = WebhookFactory(owner=owner, events=["task.created"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail(webhook, "ping/"))

    assert response.status_code == 202
    body = response.json()
    assert set(body) == DELIVERY_FIELDS
    assert (body["event"], body["status"], body["attempts"]) == ("ping", "pending", 0)
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload == {
        "id": body["id"], "event": "ping", "created_at": delivery.payload["created_at"],
        "data": {"id": webhook.id, "url": webhook.url, "events": ["task.created"]},
    }
    assert queued == [(body["id"], None)]


def test_ping_of_a_disabled_webhook_is_a_409(client, owner, queued):
    webhook = WebhookFactory(owner=owner, is_active=False)

    response = client.post(detail(webhook, "ping/"))

    assert response.status_code == 409 and "re-activate" in response.json()["detail"]
    assert queued == []


def test_deliveries_are_listed_newest_first_paginated_in_fixed_queries(client, owner, django_assert_max_num_queries):
    webhook = WebhookFactory(owner=owner)
    deliveries = [DeliveryFactory(webhook=webhook) for _ in range(12)]
    DeliveryFactory()

    with django_assert_max_num_queries(3):
        body = client.get(detail(webhook, "deliveries/")).json()

    assert body["count"] == 12
    assert [d["id"] for d in body["results"]] == [str(d.id) for d in reversed(deliveries)][:10]
    assert set(body["results"][0]) == DELIVERY_FIELDS


def test_redeliver_makes_a_failed_delivery_pending_and_due_with_the_same_id(
    client, owner, queued, django_capture_on_commit_callbacks
):
    delivery = DeliveryFactory(webhook=WebhookFactory(owner=owner), status="failed", attempts=6,
                               response_status=500)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail(delivery.webhook, f"deliveries/{delivery.id}/redeliver/"))

    assert response.status_code == 202
    assert (response.json()["id"], response.json()["status"]) == (str(delivery.id), "pending")
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None and delivery.attempts == 6
    assert queued == [(str(delivery.id), None)]


def test_redeliver_while_an_attempt_is_in_flight_is_a_409(client, owner, queued):
    from django.utils import timezone

    delivery = DeliveryFactory(webhook=WebhookFactory(owner=owner), claimed_at=timezone.now())

    response = client.post(detail(delivery.webhook, f"deliveries/{delivery.id}/redeliver/"))

    assert response.status_code == 409
    assert queued == []


def test_redeliver_of_an_unknown_delivery_is_a_404(client, owner):
    webhook = WebhookFactory(owner=owner)

    assert client.post(detail(webhook, f"deliveries/{uuid.uuid4()}/redeliver/")).status_code == 404


def test_the_cap_answers_409_beyond_the_setting(client, owner, settings):
    settings.WEBHOOK_MAX_PER_USER = 2
    WebhookFactory.create_batch(2, owner=owner)
    WebhookFactory.create_batch(2)

    response = create(client)

    assert response.status_code == 409
    assert "2 webhooks" in response.json()["detail"]
    assert Webhook.objects.filter(owner=owner).count() == 2


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        ({"url": "ftp://hooks.example.com/x"}, "url", ""),
        ({"url": "not a url"}, "url", ""),
        ({"url": "https://hooks.example.com/\x00"}, "url", "NUL"),
        ({"url": "https://hooks.example.com/" + "a" * 3000}, "url", "2000"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url", "Credentials"),
        ({"url": 12}, "url", ""),
        ({"events": ["task.created", "task.exploded", "nope"]}, "events", "task.exploded, nope"),
        ({"events": []}, "events", ""),
        ({"events": "task.created"}, "events", ""),
        ({"events": ["x" * 100]}, "events", ""),
        ({"events": ["task.created\x00"]}, "events", ""),
        ({"events": ["ping"] * 500}, "events", ""),
        ({"is_active": "maybe"}, "is_active", ""),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, body, field, fragment):
    response = create(client, **body)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert fragment in str(errors[field])
    assert not Webhook.objects.exists()


def test_a_huge_body_is_refused_without_a_500(client):
    response = client.post(LIST, {"url": "https://h.example.com/", "events": ["ping"], "x": "a" * 3_000_000},
                           format="json")

    assert response.status_code in (400, 413)
    assert not Webhook.objects.exists()


def test_the_api_root_lists_webhooks(client):
    assert client.get("/api/v1/").json()["webhooks"].endswith("/api/v1/webhooks/")


# API keys: read covers the safe methods, write every other (accounts.scopes) ---------------------


def key_client(user, scopes):
    raw = api_key_create(user=user, name="k", scopes=scopes)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.mark.parametrize(
    "scopes, read, write",
    [(["read"], 200, 403), (["write"], 403, 201), (["read", "write"], 200, 201), (["execute"], 403, 403)],
)
def test_api_key_scopes_apply_to_webhooks(owner, scopes, read, write):
    client = key_client(owner, scopes)

    listed = client.get(LIST)
    created = create(client)

    assert (listed.status_code, created.status_code) == (read, write)
    if write == 403:
        assert "'write' scope" in created.json()["detail"]
        assert not Webhook.objects.exists()


def test_a_read_only_key_cannot_ping_rotate_or_redeliver(owner, queued):
    delivery = DeliveryFactory(webhook=WebhookFactory(owner=owner))
    client = key_client(owner, ["read"])

    for path in ("ping/", "rotate_secret/", f"deliveries/{delivery.id}/redeliver/"):
        assert client.post(detail(delivery.webhook, path)).status_code == 403, path
    assert client.get(detail(delivery.webhook, "deliveries/")).status_code == 200
    assert queued == []
