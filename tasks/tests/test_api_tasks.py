"""Task create, update, actions and their answers, through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services as notifications
from tasks.models import Task, TaskAssignment, TaskStatusHistory

from .factories import CommentFactory, TaskFactory

FIELDS = {
    "id", "url", "external_id", "title", "description", "status", "priority", "creator", "assigned_by",
    "assignees", "department", "due_date", "estimate_hours", "completed_at", "is_delegated",
    "completed_late", "comments_count", "created_at", "updated_at",
}


def in_days(days):
    return (timezone.now() + timedelta(days=days)).isoformat()


@pytest.fixture
def calls(monkeypatch):
    """The notification entry points called, with their keyword arguments."""
    seen = []
    for name in ("notify_tasks_created", "notify_tasks_updated", "notify_tasks_assigned"):
        monkeypatch.setattr(notifications, name, lambda _n=name, **kw: seen.append((_n, kw)))
    return seen


def test_create_makes_a_todo_task_owned_by_the_requester(cast, client_for, calls):
    body = {
        "title": "Write the report", "priority": "high", "due_date": in_days(2),
        "estimate_hours": "3.5", "assignees": [cast["assignee"].pk, cast["colleague"].pk],
    }

    response = client_for(cast["creator"]).post("/api/v1/tasks/", body)

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == FIELDS | {"latest_comments"}
    assert data["status"] == "todo"
    assert data["creator"] == data["assigned_by"] == cast["creator"].pk
    assert data["department"] == cast["dept_a"].pk  # the creator's, as none was given
    assert data["assignees"] == sorted([cast["assignee"].pk, cast["colleague"].pk])
    assert data["estimate_hours"] == "3.50"
    assert data["comments_count"] == 0 and data["latest_comments"] == []
    task = Task.objects.get(pk=data["id"])
    assert list(task.status_history.values_list("from_status", "to_status")) == [("", "todo")]
    assert task.assignments.filter(assigned_by=cast["creator"]).count() == 2
    assert [name for name, _ in calls] == ["notify_tasks_created", "notify_tasks_assigned"]
    [(assigned_task, users)] = calls[1][1]["assignments"]
    assert assigned_task.pk == task.pk and set(users) == {cast["assignee"], cast["colleague"]}


def test_create_with_explicit_null_department_has_none(cast, client_for):
    response = client_for(cast["creator"]).post("/api/v1/tasks/", {"title": "Loose", "department": None})

    assert response.status_code == 201
    assert response.json()["department"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "Late", "due_date": "2001-01-01T00:00:00Z"}, "due_date"),
        ({"title": "Done already", "status": "done"}, "status"),
        ({"title": "Bad", "status": "finished"}, "status"),
        ({"title": "Bad", "priority": "urgent"}, "priority"),
        ({"title": "Bad", "assignees": [999999]}, "assignees"),
        ({"title": "Bad", "assignees": ["x"]}, "assignees"),
        ({"title": "Bad", "assignees": [2**70]}, "assignees"),
        ({"title": "Bad", "department": 999999}, "department"),
        ({"title": "Bad", "estimate_hours": "-1"}, "estimate_hours"),
        ({"title": "Bad", "due_date": "tomorrow"}, "due_date"),
        ({"description": "no title"}, "title"),
    ],
)
def test_create_refuses_bad_input_with_field_errors(body, field, cast, client_for):
    response = client_for(cast["creator"]).post("/api/v1/tasks/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Task.all_objects.exists()


def test_create_refuses_inactive_assignee(cast, client_for):
    cast["colleague"].is_active = False
    cast["colleague"].save()

    response = client_for(cast["creator"]).post("/api/v1/tasks/", {"title": "T", "assignees": [cast["colleague"].pk]})

    assert response.status_code == 400
    assert "inactive" in response.json()["assignees"][0]


def test_create_accepts_status_todo(cast, client_for):
    response = client_for(cast["creator"]).post("/api/v1/tasks/", {"title": "T", "status": "todo"})

    assert response.status_code == 201


def test_malformed_bodies_are_json_400s(cast, task, client_for):
    client = client_for(cast["creator"])

    for body in ([1, 2], "text", {"title": ["a"]}):
        response = client.patch(f"/api/v1/tasks/{task.pk}/", body, format="json")
        assert response.status_code == 400, body
        assert response["Content-Type"] == "application/json"
    response = client.post(f"/api/v1/tasks/{task.pk}/assign/", {"assignees": "1"}, format="json")
    assert response.status_code == 400


def test_browsable_api_renders_a_task_with_assignees(cast, task, client_for):
    task.assignees.add(cast["assignee"])

    response = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/?format=api")

    assert response.status_code == 200
    assert "text/html" in response["Content-Type"]


def test_detail_has_latest_five_comments_newest_first(cast, task, client_for):
    comments = [CommentFactory(task=task, author=cast["assignee"]) for _ in range(7)]

    data = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/").json()

    assert data["comments_count"] == 7
    assert [c["id"] for c in data["latest_comments"]] == [c.pk for c in reversed(comments)][:5]
    assert set(data["latest_comments"][0]) == {"id", "author", "content", "created_at"}


def test_update_moving_due_date_into_the_past_is_refused(cast, task, client_for):
    response = client_for(cast["creator"]).patch(
        f"/api/v1/tasks/{task.pk}/", {"due_date": "2001-01-01T00:00:00Z"}
    )

    assert response.status_code == 400
    assert "due_date" in response.json()


def test_overdue_task_stays_editable(cast, client_for):
    past = timezone.now() - timedelta(days=1)
    task = TaskFactory(creator=cast["creator"], due_date=past, status=Task.Status.FAILED)

    response = client_for(cast["creator"]).put(
        f"/api/v1/tasks/{task.pk}/",
        {"title": "Still relevant", "due_date": past.isoformat(), "priority": "critical"},
    )

    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert (task.title, task.priority, task.priority_rank, task.due_date) == ("Still relevant", "critical", 3, past)


def test_patch_status_done_behaves_like_mark_done_and_reopening_clears_it(cast, task, client_for):
    client = client_for(cast["assignee"])

    done = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "done"}).json()
    assert done["status"] == "done" and done["completed_at"] is not None
    assert done["completed_late"] is False

    reopened = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "in_progress"}).json()
    assert reopened["completed_at"] is None
    assert list(TaskStatusHistory.objects.filter(task=task).values_list("to_status", "changed_by")) == [
        ("todo", cast["creator"].pk), ("done", cast["assignee"].pk), ("in_progress", cast["assignee"].pk),
    ]


def test_failed_task_can_be_marked_done_and_is_late(cast, client_for, calls):
    task = TaskFactory(
        creator=cast["creator"], assignees=[cast["assignee"]], status=Task.Status.FAILED,
        due_date=timezone.now() - timedelta(hours=1),
    )

    response = client_for(cast["assignee"]).post(f"/api/v1/tasks/{task.pk}/mark_done/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["completed_late"] is True
    task.refresh_from_db()
    assert task.completed_late and task.completed_at is not None
    assert body["completed_at"] == task.completed_at.isoformat().replace("+00:00", "Z")
    assert calls[0][0] == "notify_tasks_updated"
    assert client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/").json()["completed_late"] is True


def test_mark_done_twice_keeps_the_first_completion(cast, task, client_for):
    client = client_for(cast["assignee"])
    first = client.post(f"/api/v1/tasks/{task.pk}/mark_done/").json()

    second = client.post(f"/api/v1/tasks/{task.pk}/mark_done/").json()

    assert second["completed_at"] == first["completed_at"]
    assert TaskStatusHistory.objects.filter(task=task, to_status="done").count() == 1


def test_assign_adds_and_answers_all_ids(cast, task, client_for, calls):
    response = client_for(cast["manager"]).post(
        f"/api/v1/tasks/{task.pk}/assign/", {"assignees": [cast["colleague"].pk, cast["assignee"].pk]}
    )

    assert response.json() == {"status": "assigned", "assignees": sorted([cast["assignee"].pk, cast["colleague"].pk])}
    task.refresh_from_db()
    assert task.assigned_by == cast["manager"]
    new_rows = TaskAssignment.objects.filter(task=task, assigned_by=cast["manager"])
    assert list(new_rows.values_list("assigned_to", "action")) == [(cast["colleague"].pk, "assigned")]
    assert calls == [
        ("notify_tasks_assigned", {"assignments": [(task, [cast["colleague"]])], "actor": cast["manager"]})
    ]


@pytest.mark.parametrize("body", [{"assignees": []}, {"assignees": [999999]}, {}, {"assignees": [0]}])
def test_assign_refuses_bad_ids(body, cast, task, client_for):
    response = client_for(cast["creator"]).post(f"/api/v1/tasks/{task.pk}/assign/", body)

    assert response.status_code == 400
    assert "assignees" in response.json()


def test_assign_counts_repeated_ids_against_the_100_cap(cast, task, client_for):
    client = client_for(cast["creator"])
    url = f"/api/v1/tasks/{task.pk}/assign/"

    too_many = client.post(url, {"assignees": [cast["colleague"].pk] * 101}, format="json")

    assert too_many.status_code == 400
    assert too_many.json()["assignees"] == ["Ensure this field has no more than 100 elements."]
    assert client.post(url, {"assignees": [cast["colleague"].pk] * 100}, format="json").status_code == 200


def test_unassign_answers_remaining_ids(cast, task, client_for):
    task.assignees.add(cast["colleague"])

    response = client_for(cast["creator"]).post(
        f"/api/v1/tasks/{task.pk}/unassign/", {"assignees": [cast["assignee"].pk]}
    )

    assert response.json() == {"status": "unassigned", "assignees": [cast["colleague"].pk]}
    assert TaskAssignment.objects.filter(task=task, action="unassigned", assigned_to=cast["assignee"]).exists()


def test_delegate_hands_the_task_over(cast, task, client_for, calls):
    response = client_for(cast["assignee"]).post(f"/api/v1/tasks/{task.pk}/delegate/", {"to": cast["colleague"].pk})

    assert response.status_code == 200
    data = response.json()
    assert data["assignees"] == [cast["colleague"].pk]
    assert data["is_delegated"] is True
    assert data["assigned_by"] == cast["assignee"].pk
    row = TaskAssignment.objects.filter(task=task).last()
    assert (row.action, row.assigned_by, row.assigned_to) == ("delegated", cast["assignee"], cast["colleague"])
    assert calls[-1] == (
        "notify_tasks_assigned", {"assignments": [(task, [cast["colleague"]])], "actor": cast["assignee"]}
    )


@pytest.mark.parametrize("target", ["assignee", "nobody", "inactive"])
def test_delegate_refuses_bad_targets(target, cast, task, client_for):
    cast["colleague"].is_active = False
    cast["colleague"].save()
    to = {"assignee": cast["assignee"].pk, "nobody": 999999, "inactive": cast["colleague"].pk}[target]

    response = client_for(cast["assignee"]).post(f"/api/v1/tasks/{task.pk}/delegate/", {"to": to})

    assert response.status_code == 400
    assert "to" in response.json()
    assert list(task.assignees.all()) == [cast["assignee"]]


def test_history_merges_status_and_assignments_oldest_first(cast, task, client_for):
    client = client_for(cast["assignee"])
    client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "in_progress"})
    client.post(f"/api/v1/tasks/{task.pk}/delegate/", {"to": cast["colleague"].pk})
    client_for(cast["creator"]).post(f"/api/v1/tasks/{task.pk}/mark_done/")

    items = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/history/").json()

    assert [(i["type"], i.get("to_status") or i.get("action")) for i in items] == [
        ("status", "todo"), ("assignment", "assigned"), ("status", "in_progress"),
        ("assignment", "delegated"), ("status", "done"),
    ]
    assert items[3]["assigned_by"] == cast["assignee"].pk and items[3]["assigned_to"] == cast["colleague"].pk


def test_manager_who_moves_a_task_out_of_sight_still_gets_the_answer(cast, task, client_for):
    response = client_for(cast["manager"]).patch(f"/api/v1/tasks/{task.pk}/", {"department": cast["dept_b"].pk})

    assert response.status_code == 200
    assert response.json()["department"] == cast["dept_b"].pk


def test_update_notifies_only_the_fields_that_changed(cast, task, client_for, calls):
    client_for(cast["creator"]).patch(
        f"/api/v1/tasks/{task.pk}/", {"title": task.title, "priority": "low", "department": cast["dept_a"].pk}
    )

    assert calls == [("notify_tasks_updated", {"changes": [(task, ["priority"])], "actor": cast["creator"]})]
