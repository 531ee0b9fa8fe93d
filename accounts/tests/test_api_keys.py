from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.fixture
def owner():
    return UserFactory(email="owner@example.com")


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)


def create_key(client, **body):
    return client.post(reverse("api-key-list"), {"name": "ci", **body}, format="json")


def test_created_key_is_shown_once_and_stored_hashed(owner_client):
    response = create_key(owner_client)

    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith("th_") and body["prefix"] in raw
    row = ApiKey.objects.get(pk=body["id"])
    assert row.hashed_key != raw and raw not in row.hashed_key
    listed = owner_client.get(reverse("api-key-list")).json()["results"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0] and "hashed_key" not in listed[0]
    detail = owner_client.get(reverse("api-key-detail", args=[body["id"]])).json()
    assert "key" not in detail


def test_key_authenticates_as_owner_and_records_last_use(owner_client, owner):
    body = create_key(owner_client).json()

    me = key_client(body["key"]).get(reverse("user-detail", args=[owner.id]))

    assert me.status_code == 200 and me.json()["email"] == owner.email
    assert ApiKey.objects.get(pk=body["id"]).last_used_at is not None


def test_regenerate_replaces_secret_and_old_key_stops_at_once(owner_client):
    body = create_key(owner_client).json()
    old = body["key"]
    assert key_client(old).get(reverse("user-list")).status_code == 200

    response = owner_client.post(reverse("api-key-regenerate", args=[body["id"]]))

    assert response.status_code == 200
    new = response.json()["key"]
    assert new != old
    assert key_client(old).get(reverse("user-list")).status_code == 401
    assert key_client(new).get(reverse("user-list")).status_code == 200


def test_deleted_key_stops_working(owner_client):
    body = create_key(owner_client).json()

    response = owner_client.delete(reverse("api-key-detail", args=[body["id"]]))

    assert response.status_code == 204
    assert key_client(body["key"]).get(reverse("user-list")).status_code == 401


def test_expired_key_is_refused(owner_client):
    body = create_key(owner_client, expires_at=(timezone.now() + timedelta(hours=1)).isoformat()).json()
    ApiKey.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert key_client(body["key"]).get(reverse("user-list")).status_code == 401


def test_expiry_in_the_past_is_refused(owner_client):
    response = create_key(owner_client, expires_at=(timezone.now() - timedelta(hours=1)).isoformat())

    assert response.status_code == 400
    assert "expires_at" in response.json()
    assert not ApiKey.objects.exists()


def test_keys_of_other_users_are_invisible(owner_client, client_for):
    body = create_key(owner_client).json()
    stranger = client_for(UserFactory())

    assert stranger.get(reverse("api-key-list")).json()["count"] == 0
    assert stranger.get(reverse("api-key-detail", args=[body["id"]])).status_code == 404
    assert stranger.post(reverse("api-key-regenerate", args=[body["id"]])).status_code == 404
    assert stranger.delete(reverse("api-key-detail", args=[body["id"]])).status_code == 404
    assert ApiKey.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    "method, url_name, args, data",
    [
        ("get", "api-key-list", [], None),
        ("post", "api-key-list", [], {"name": "escalate"}),
        ("post", "api-key-regenerate", ["KEY"], None),
        ("delete", "api-key-detail", ["KEY"], None),
        ("post", "auth-api-token", [], None),
        ("post", "auth-logout", [], {"refresh": "x"}),
        ("patch", "user-detail", ["OWNER"], {"name": "Renamed by a key"}),
        ("delete", "user-detail", ["OWNER"], None),
    ],
)
def test_a_key_can_never_manage_keys_or_change_its_account(owner_client, owner, method, url_name, args, data):
    body = create_key(owner_client).json()
    args = [{"KEY": body["id"], "OWNER": owner.id}[a] for a in args]

    response = getattr(key_client(body["key"]), method)(reverse(url_name, args=args), data, format="json")

    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.name != "Renamed by a key" and owner.is_active
    assert ApiKey.objects.filter(user=owner).count() == 1
    assert ApiKey.objects.get(pk=body["id"]).hashed_key == ApiKey.hash(body["key"])
