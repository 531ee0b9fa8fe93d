"""Seed 001 addresses users by `external_id`: /users/{uuid}/ resolves as /users/{id}/ does."""

import uuid

import pytest

from accounts.models import User

PERSONAS = ["ceo", "hr", "manager", "creator", "outsider"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_user_reads_the_same_by_external_id_as_by_id(persona, people, client_for):
    client = client_for(people[persona])
    target = people["assignee"]

    by_uuid = client.get(f"/api/v1/users/{target.external_id}/")
    by_id = client.get(f"/api/v1/users/{target.pk}/")

    assert (by_uuid.status_code, by_id.status_code) == (200, 200)
    assert by_uuid.json() == by_id.json() and by_uuid.json()["id"] == target.pk
    assert by_uuid["ETag"] == by_id["ETag"]


@pytest.mark.parametrize(
    ("persona", "expected"), [("ceo", 200), ("hr", 200), ("manager", 403), ("creator", 403), ("assignee", 200)]
)
def test_writes_by_external_id_follow_the_same_rules(persona, expected, people, client_for):
    target = people["assignee"]
    body = {"name": "Renamed"} if persona in ("assignee", "creator", "manager") else {"role": "manager"}

    response = client_for(people[persona]).patch(f"/api/v1/users/{target.external_id}/", body, format="json")

    assert response.status_code == expected, response.content
    if expected == 200:
        assert response.json()["id"] == target.pk and response.json()["task_stats"]["total"] == 0
        target.refresh_from_db()
        assert (target.name, target.role) == (body.get("name", target.name), body.get("role", "employee"))


def test_people_admins_deactivate_by_external_id(people, client_for):
    target = people["outsider"]

    response = client_for(people["hr"]).delete(f"/api/v1/users/{target.external_id}/")

    assert response.status_code == 204
    assert not User.objects.get(pk=target.pk).is_active


def test_a_stale_if_match_by_external_id_is_a_412(people, client_for):
    client = client_for(people["ceo"])
    url = f"/api/v1/users/{people['assignee'].external_id}/"
    etag = client.get(url)["ETag"]

    assert client.patch(url, {"role": "hr"}, format="json", headers={"If-Match": etag}).status_code == 200
    assert client.patch(url, {"role": "ceo"}, format="json", headers={"If-Match": etag}).status_code == 412
    assert User.objects.get(pk=people["assignee"].pk).role == "hr"


@pytest.mark.parametrize("ref", ["abc", "1.5", "0", "²", str(10**20), "12345678-1234-1234-1234-12345678901z",
                                 str(uuid.uuid4())])
def test_only_an_id_or_a_canonical_uuid_names_a_user(ref, people, client_for):
    client = client_for(people["ceo"])

    response = client.get(f"/api/v1/users/{ref}/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    target = people["hr"]
    for valid in (target.pk, target.external_id, str(target.external_id).upper()):
        assert client.get(f"/api/v1/users/{valid}/").json()["id"] == target.pk
