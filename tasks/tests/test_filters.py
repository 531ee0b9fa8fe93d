"""List filters, search and ordering (seen by the CEO, who sees every task)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks.models import Task

from .factories import TaskFactory

NOW = timezone.now()


@pytest.fixture
def tasks(cast):
    alice = UserFactory(name="Alice Zephyr")
    bob = UserFactory(name="Bob Quill")
    return {
        "a": TaskFactory(
            title="Fix login", description="OAuth breaks", status=Task.Status.TODO, priority=Task.Priority.LOW,
            creator=cast["creator"], department=cast["dept_a"], due_date=NOW + timedelta(days=1),
            assignees=[alice, bob],
        ),
        "b": TaskFactory(
            title="Quarterly report", description="numbers", status=Task.Status.IN_PROGRESS,
            priority=Task.Priority.CRITICAL, creator=cast["manager"], department=cast["dept_a"],
            due_date=NOW - timedelta(days=1), assignees=[alice],
        ),
        "c": TaskFactory(
            title="Hire", description="Zephyr team lead", status=Task.Status.DONE, priority=Task.Priority.HIGH,
            creator=cast["other_manager"], department=cast["dept_b"], due_date=NOW + timedelta(days=5),
        ),
        "d": TaskFactory(
            title="Undated", status=Task.Status.FAILED, priority=Task.Priority.MEDIUM,
            creator=cast["other_manager"], department=None, due_date=None,
        ),
        "alice": alice,
        "bob": bob,
    }


def names(response, tasks):
    assert response.status_code == 200, response.content
    by_id = {t.pk: key for key, t in tasks.items() if isinstance(t, Task)}
    return [by_id[row["id"]] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"status": "in_progress"}, {"b"}),
        ({"priority": "high"}, {"c"}),
        ({"assignee": "none"}, {"c", "d"}),
        ({"creator": "other_manager"}, {"c", "d"}),
        ({"department": "dept_a"}, {"a", "b"}),
        ({"due_before": (NOW + timedelta(days=2)).isoformat()}, {"a", "b"}),
        ({"due_after": NOW.isoformat()}, {"a", "c"}),
        ({"overdue": "true"}, {"b"}),
        ({"overdue": "false"}, {"a", "c", "d"}),
        ({"search": "zephyr"}, {"a", "b", "c"}),  # assignee name, and a description
        ({"search": "quarterly"}, {"b"}),
        ({"search": "oauth"}, {"a"}),
        ({"search": "Alice Quarterly"}, {"b"}),  # every term must match
    ],
)
def test_filters(params, expected, cast, tasks, client_for):
    resolved = {
        key: (cast[value].pk if value in ("other_manager", "dept_a") else value) for key, value in params.items()
    }

    assert set(names(client_for(cast["ceo"]).get("/api/v1/tasks/", resolved), tasks)) == expected


def test_assignee_filter_by_id(cast, tasks, client_for):
    response = client_for(cast["ceo"]).get("/api/v1/tasks/", {"assignee": tasks["bob"].pk})

    assert names(response, tasks) == ["a"]


def test_external_id_filter(cast, tasks, client_for):
    response = client_for(cast["ceo"]).get("/api/v1/tasks/", {"external_id": str(tasks["c"].external_id)})

    assert names(response, tasks) == ["c"]


def test_search_through_several_assignees_lists_a_task_once(cast, tasks, client_for):
    response = client_for(cast["ceo"]).get("/api/v1/tasks/", {"search": "e"})  # both assignees of "a" match

    assert sorted(names(response, tasks)) == ["a", "b", "c", "d"]
    assert response.json()["count"] == 4


def test_filters_keep_visibility(cast, tasks, client_for):
    response = client_for(cast["creator"]).get("/api/v1/tasks/", {"search": "zephyr"})

    assert names(response, tasks) == ["a"]


@pytest.mark.parametrize(
    "ordering, expected",
    [
        (None, ["c", "a", "b", "d"]),  # -due_date, undated last
        ("due_date", ["b", "a", "c", "d"]),
        ("-due_date", ["c", "a", "b", "d"]),
        ("priority", ["a", "d", "c", "b"]),
        ("-priority", ["b", "c", "d", "a"]),
        ("created_at", ["a", "b", "c", "d"]),
        ("-created_at", ["d", "c", "b", "a"]),
        ("-updated_at", ["d", "c", "b", "a"]),
        ("updated_at", ["a", "b", "c", "d"]),
    ],
)
def test_ordering(ordering, expected, cast, tasks, client_for):
    params = {"ordering": ordering} if ordering else {}

    assert names(client_for(cast["ceo"]).get("/api/v1/tasks/", params), tasks) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nope"}, {"priority": "urgent"}, {"assignee": "abc"}, {"assignee": "-1"},
        {"assignee": str(2**70)}, {"creator": "1.5"}, {"department": "x"}, {"external_id": "not-a-uuid"},
        {"due_before": "yesterday"}, {"overdue": "maybe"}, {"ordering": "title"}, {"page_size": "x"},
    ],
)
def test_bad_filter_values_are_json_400s(params, cast, tasks, client_for):
    response = client_for(cast["ceo"]).get("/api/v1/tasks/", params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_page_size_is_capped_at_100(cast, client_for):
    TaskFactory.create_batch(105, creator=cast["creator"])

    body = client_for(cast["ceo"]).get("/api/v1/tasks/", {"page_size": 500}).json()

    assert body["count"] == 105 and len(body["results"]) == 100


def test_list_filters_do_not_apply_to_the_detail(cast, tasks, client_for):
    response = client_for(cast["ceo"]).get(f"/api/v1/tasks/{tasks['a'].pk}/", {"status": "done"})

    assert response.status_code == 200


def test_task_assignments_filter_by_task(cast, task, client_for):
    from tasks.models import TaskAssignment

    other = TaskFactory(creator=cast["creator"])
    TaskAssignment.objects.create(task=other, assigned_to=cast["colleague"], assigned_by=cast["creator"])

    rows = client_for(cast["ceo"]).get("/api/v1/task-assignments/", {"task": other.pk}).json()["results"]

    assert [(r["task"], r["assigned_to"], r["action"]) for r in rows] == [(other.pk, cast["colleague"].pk, "assigned")]


@pytest.mark.parametrize("by", ["id", "external_id"])
def test_an_employees_assignee_filter_lists_the_persons_tasks_they_see(cast, client_for, by):
    """The person's task ids are narrowed to the employee's own (created, assigned by them, or
    shared) before any task is read: the same tasks as the visibility rule gives, no other."""
    me, colleague = cast["assignee"], cast["colleague"]
    created = TaskFactory(creator=me, department=cast["dept_a"], assignees=[colleague])
    handed = TaskFactory(creator=cast["creator"], department=cast["dept_a"], assigned_by=me, assignees=[colleague])
    shared = TaskFactory(creator=cast["creator"], department=cast["dept_a"], assignees=[colleague, me])
    TaskFactory(creator=cast["creator"], department=cast["dept_a"], assignees=[colleague])  # not mine to see
    TaskFactory(creator=me, department=cast["dept_a"], assignees=[me])  # mine, not the colleague's
    gone = TaskFactory(creator=me, department=cast["dept_a"], assignees=[colleague])
    gone.delete()

    value = colleague.pk if by == "id" else str(colleague.external_id)
    body = client_for(me).get("/api/v1/tasks/", {"assignee": value}).json()

    assert sorted(row["id"] for row in body["results"]) == sorted([created.pk, handed.pk, shared.pk])
    assert body["count"] == 3
