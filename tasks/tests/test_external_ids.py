"""Seed 001 addresses tasks by `external_id`: /tasks/{uuid}/ and every action under it resolve
as the integer id does, and the `assignee` and `creator` filters take either form."""

import uuid

import pytest

from accounts.tests.factories import UserFactory
from tasks.models import Task

from .factories import CommentFactory, TaskFactory

# Who sees the `task` fixture (a dept_a task by `creator`, assigned by `assigner` to `assignee`).
PERSONAS = ["ceo", "hr", "manager", "other_manager", "creator", "assignee", "assigner", "colleague", "outsider"]
SEES_TASK = {"ceo", "hr", "manager", "creator", "assignee", "assigner"}


def test_who_sees_a_task_by_external_id_as_by_id(cast, task, client_for):
    seen = {}
    for persona in PERSONAS:
        client = client_for(cast[persona])
        by_uuid = client.get(f"/api/v1/tasks/{task.external_id}/")
        by_id = client.get(f"/api/v1/tasks/{task.pk}/")
        assert by_uuid.json() == by_id.json() and by_uuid.get("ETag") == by_id.get("ETag")
        seen[persona] = by_uuid.status_code

    assert seen == {persona: 200 if persona in SEES_TASK else 404 for persona in PERSONAS}


@pytest.mark.parametrize(
    "ref",
    [
        "abc",
        "1.5",
        "0",
        "-1",
        "²",
        str(10**20),
        "12345678-1234-1234-1234-12345678901z",
        "123456781234123412341234567890ab",  # a UUID without its hyphens: not the documented form
        "{12345678-1234-1234-1234-123456789012}",
        str(uuid.uuid4()),  # names no task
    ],
)
def test_only_an_id_or_a_canonical_uuid_names_a_task(ref, cast, task, client_for):
    client = client_for(cast["ceo"])

    for url in (f"/api/v1/tasks/{ref}/", f"/api/v1/tasks/{ref}/history/", f"/api/v1/tasks/{ref}/comments/"):
        response = client.get(url)
        assert response.status_code == 404, (url, response.content)
        assert response["Content-Type"].startswith("application/json")
    assert client.post(f"/api/v1/tasks/{ref}/mark_done/").status_code == 404
    for valid in (task.pk, task.external_id, str(task.external_id).upper()):
        assert client.get(f"/api/v1/tasks/{valid}/").json()["id"] == task.pk


def test_a_deleted_task_is_a_404_by_external_id(cast, task, client_for):
    client = client_for(cast["ceo"])
    assert client.get(f"/api/v1/tasks/{task.external_id}/").status_code == 200

    Task.objects.filter(pk=task.pk).delete()

    assert client.get(f"/api/v1/tasks/{task.external_id}/").status_code == 404


def test_editors_change_a_task_by_external_id(cast, task, client_for):
    client = client_for(cast["creator"])
    url = f"/api/v1/tasks/{task.external_id}/"

    patched = client.patch(url, {"title": "Renamed"}, format="json")
    assigned = client.post(f"{url}assign/", {"assignees": [cast["colleague"].pk]}, format="json")
    unassigned = client.post(f"{url}unassign/", {"assignees": [cast["colleague"].pk]}, format="json")
    history = client.get(f"{url}history/")

    assert patched.status_code == 200 and patched.json()["title"] == "Renamed"
    assert assigned.json() == {"status": "assigned", "assignees": sorted([cast["assignee"].pk, cast["colleague"].pk])}
    assert unassigned.json() == {"status": "unassigned", "assignees": [cast["assignee"].pk]}
    assert [entry["type"] for entry in history.json()] == ["status", "assignment", "assignment", "assignment"]
    assert client.delete(url).status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()


def test_an_assignee_delegates_and_marks_done_by_external_id(cast, task, client_for):
    client = client_for(cast["assignee"])
    url = f"/api/v1/tasks/{task.external_id}/"

    done = client.post(f"{url}mark_done/")
    delegated = client.post(f"{url}delegate/", {"to": cast["colleague"].pk}, format="json")

    assert done.status_code == 200 and done.json()["status"] == "done"
    assert delegated.status_code == 200, delegated.content
    assert delegated.json()["assignees"] == [cast["colleague"].pk] and delegated.json()["is_delegated"]


def test_task_comments_by_external_id(cast, task, client_for):
    CommentFactory(task=task, author=cast["creator"], content="First")
    url = f"/api/v1/tasks/{task.external_id}/comments/"
    answers = {}
    for persona in PERSONAS:
        client = client_for(cast[persona])
        listed = client.get(url)
        added = client.post(url, {"content": f"From {persona}"}, format="json")
        answers[persona] = (listed.status_code, added.status_code)
        if persona in SEES_TASK:
            assert listed.json()["results"][-1]["content"] == "First"
            assert added.json()["task"] == task.pk

    assert answers == {persona: (200, 201) if persona in SEES_TASK else (404, 404) for persona in PERSONAS}


def test_if_match_works_by_external_id(cast, task, client_for):
    client = client_for(cast["creator"])
    url = f"/api/v1/tasks/{task.external_id}/"
    etag = client.get(url)["ETag"]

    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    changed = client.patch(url, {"title": "First writer"}, format="json", headers={"If-Match": etag})
    stale = client.patch(url, {"title": "Second writer"}, format="json", headers={"If-Match": etag})
    stale_action = client.post(f"{url}mark_done/", headers={"If-Match": etag})

    assert changed.status_code == 200 and changed["ETag"] == client.get(url)["ETag"]
    assert (stale.status_code, stale_action.status_code) == (412, 412)
    task.refresh_from_db()
    assert (task.title, task.status) == ("First writer", Task.Status.TODO)


@pytest.fixture
def owned(cast):
    """Tasks with different creators and assignees, all visible to the CEO."""
    lone = UserFactory(name="Lone Worker")
    return {
        "by_creator": TaskFactory(creator=cast["creator"], assignees=[cast["assignee"]]),
        "by_manager": TaskFactory(creator=cast["manager"], assignees=[lone]),
        "unassigned": TaskFactory(creator=cast["manager"]),
        "lone": lone,
    }


def listed(response, owned):
    assert response.status_code == 200, response.content
    by_id = {t.pk: key for key, t in owned.items() if isinstance(t, Task)}
    return {by_id[row["id"]] for row in response.json()["results"]}


def test_assignee_and_creator_filters_take_an_external_id(cast, owned, client_for):
    client = client_for(cast["ceo"])

    assert listed(client.get("/api/v1/tasks/", {"assignee": owned["lone"].external_id}), owned) == {"by_manager"}
    assert listed(client.get("/api/v1/tasks/", {"assignee": cast["assignee"].external_id}), owned) == {"by_creator"}
    by_manager = client.get("/api/v1/tasks/", {"creator": str(cast["manager"].external_id).upper()})
    assert listed(by_manager, owned) == {"by_manager", "unassigned"}
    mixed = {"creator": cast["manager"].pk, "assignee": owned["lone"].external_id}
    assert listed(client.get("/api/v1/tasks/", mixed), owned) == {"by_manager"}


def test_unknown_external_ids_match_nothing(cast, owned, client_for):
    client = client_for(cast["ceo"])

    assert listed(client.get("/api/v1/tasks/", {"creator": str(uuid.uuid4())}), owned) == set()
    assert listed(client.get("/api/v1/tasks/", {"assignee": str(uuid.uuid4())}), owned) == set()


def test_the_filters_keep_to_what_the_requester_sees(cast, owned, client_for):
    response = client_for(cast["outsider"]).get("/api/v1/tasks/", {"creator": str(cast["manager"].external_id)})

    assert response.json()["count"] == 0


@pytest.mark.parametrize("field", ["assignee", "creator"])
@pytest.mark.parametrize(
    "value", ["abc", "1.5", "0", "-3", "²", str(10**20), "12345678-1234-1234-1234-12345678901z", "nonee"]
)
def test_a_bad_assignee_or_creator_is_a_400_naming_the_field(field, value, cast, client_for):
    client = client_for(cast["ceo"])

    response = client.get("/api/v1/tasks/", {field: value})

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert "external id (UUID)" in response.json()[field][0]
    assert client.get("/api/v1/tasks/", {field: str(uuid.uuid4())}).status_code == 200


def test_none_means_unassigned_and_is_no_creator(cast, owned, client_for):
    client = client_for(cast["ceo"])

    creator_none = client.get("/api/v1/tasks/", {"creator": "none"})

    assert listed(client.get("/api/v1/tasks/", {"assignee": "None"}), owned) == {"unassigned"}
    assert creator_none.status_code == 400
    assert creator_none.json()["creator"] == ["Enter an id or an external id (UUID)."]
