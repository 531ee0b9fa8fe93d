"""Every persona against every task action on one dept_a task (see tasks.permissions).

A refused write must leave the task, its assignees and its audit rows exactly as they were.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from .conftest import snapshot

PERSONAS = [
    "ceo", "hr", "manager", "second_manager", "assigning_manager", "other_manager", "creator", "assignee",
    "assigner", "outsider",
]
SEES = {"ceo", "hr", "manager", "second_manager", "assigning_manager", "creator", "assignee", "assigner"}
# SPEC §3 (seed 004): any manager of the task's department, designated or not, and the manager
# who assigned it (from any department) manage it; an employee who assigned it does not.
MANAGES = {"ceo", "hr", "manager", "second_manager", "assigning_manager", "creator"}
WORKS_ON = MANAGES | {"assignee"}


def expected(persona, granted_to, ok=200):
    if persona not in SEES:
        return 404
    return ok if persona in granted_to else 403


def full_body(cast):
    return {
        "title": "Rewritten",
        "description": "All new",
        "status": "in_progress",
        "priority": "high",
        "department": cast["dept_a"].pk,
        "due_date": (timezone.now() + timedelta(days=9)).isoformat(),
        "estimate_hours": "4.50",
    }


WRITES = {
    "patch_title": (lambda c, t: ("patch", f"/api/v1/tasks/{t.pk}/", {"title": "Renamed"}), MANAGES, 200),
    "patch_status": (lambda c, t: ("patch", f"/api/v1/tasks/{t.pk}/", {"status": "in_progress"}), WORKS_ON, 200),
    "put": (lambda c, t: ("put", f"/api/v1/tasks/{t.pk}/", full_body(c)), MANAGES, 200),
    "delete": (lambda c, t: ("delete", f"/api/v1/tasks/{t.pk}/", None), MANAGES, 204),
    "assign": (
        lambda c, t: ("post", f"/api/v1/tasks/{t.pk}/assign/", {"assignees": [c["colleague"].pk]}),
        MANAGES,
        200,
    ),
    "unassign": (
        lambda c, t: ("post", f"/api/v1/tasks/{t.pk}/unassign/", {"assignees": [c["assignee"].pk]}),
        MANAGES,
        200,
    ),
    "delegate": (
        lambda c, t: ("post", f"/api/v1/tasks/{t.pk}/delegate/", {"to": c["colleague"].pk}),
        {"assignee"},
        200,
    ),
    "mark_done": (lambda c, t: ("post", f"/api/v1/tasks/{t.pk}/mark_done/", None), WORKS_ON, 200),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_the_task_only_to_those_who_see_it(persona, cast, task_for, client_for):
    task = task_for(persona)
    response = client_for(cast[persona]).get("/api/v1/tasks/")

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == ([task.pk] if persona in SEES else [])


@pytest.mark.parametrize("persona", PERSONAS)
def test_retrieve(persona, cast, task_for, client_for):
    task = task_for(persona)
    response = client_for(cast[persona]).get(f"/api/v1/tasks/{task.pk}/")

    assert response.status_code == expected(persona, SEES)
    if persona in SEES:
        assert response.json()["assignees"] == [cast["assignee"].pk]
    else:
        assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("persona", PERSONAS)
def test_history(persona, cast, task_for, client_for):
    task = task_for(persona)
    response = client_for(cast[persona]).get(f"/api/v1/tasks/{task.pk}/history/")

    assert response.status_code == expected(persona, SEES)
    if persona in SEES:
        assert [item["type"] for item in response.json()] == ["status", "assignment"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("write", list(WRITES))
def test_writes(write, persona, cast, task_for, client_for):
    task = task_for(persona)
    build, granted_to, ok = WRITES[write]
    method, url, body = build(cast, task)
    before = snapshot(task)

    response = getattr(client_for(cast[persona]), method)(url, body, format="json")

    assert response.status_code == expected(persona, granted_to, ok), response.content
    if response.status_code == ok:
        assert snapshot(task) != before
    else:
        assert snapshot(task) == before
        assert "detail" in response.json()


def test_assignee_refusal_names_the_forbidden_fields(cast, task, client_for):
    response = client_for(cast["assignee"]).patch(
        f"/api/v1/tasks/{task.pk}/", {"status": "done", "title": "Mine now", "priority": "low"}
    )

    assert response.status_code == 403
    assert response.json()["detail"].endswith("not: priority, title.")


def test_ceo_who_is_not_an_assignee_cannot_delegate(cast, task, client_for):
    response = client_for(cast["ceo"]).post(f"/api/v1/tasks/{task.pk}/delegate/", {"to": cast["colleague"].pk})

    assert response.status_code == 403
    assert response.json()["detail"] == "Only a current assignee can delegate this task."


# Who sees the task's assignment row (assigned_to=assignee, assigned_by=assigner): CEO/HR, the
# department's managers, and the two people it names; the creator is neither of them.
# In the assigning manager's case they, not `assigner`, are the row's assigned_by.
SEES_ASSIGNMENT = {"ceo", "hr", "manager", "second_manager", "assigning_manager", "assignee", "assigner"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_task_assignments_list(persona, cast, task_for, client_for):
    task = task_for(persona)
    response = client_for(cast[persona]).get("/api/v1/task-assignments/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["task"], r["assigned_to"]) for r in rows] == (
        [(task.pk, cast["assignee"].pk)] if persona in SEES_ASSIGNMENT else []
    )


def test_task_assignments_are_read_only(cast, task, client_for):
    client = client_for(cast["ceo"])

    assert client.post("/api/v1/task-assignments/", {"task": task.pk}).status_code == 405
