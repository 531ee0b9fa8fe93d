"""The copies of a task's columns on its rows (tasks.task_copies: the assignee rows' status, due
date and liveness, the assignment records' department and liveness) stay equal to the task
through every write path, and what is read from them (task_stats, who sees which assignment
record) stays what the tasks say. On SQLite and PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks import task_copies
from tasks.expiry import task_expire_overdue
from tasks.models import Task, TaskAssignee, TaskAssignment

from .factories import TaskFactory

pytestmark = pytest.mark.django_db


def assert_in_sync():
    """Every assignee row carries its task's status, due date, liveness and department, every
    assignment record its task's department and liveness (none of the copies left at the
    defaults Django inserts); returns how many assignee rows there are."""
    tasks = {task.pk: task for task in Task.all_objects.all()}
    rows = list(
        TaskAssignee.objects.values_list("task_id", "task_status", "task_due_date", "task_live", "task_department_id")
    )
    assert [
        (task_id, t.status, t.due_date, t.deleted_at is None, t.department_id)
        for task_id, t in ((task_id, tasks[task_id]) for task_id, *_ in rows)
    ] == rows
    records = list(TaskAssignment.objects.values_list("task_id", "task_department_id", "task_live"))
    assert [
        (task_id, tasks[task_id].department_id, tasks[task_id].deleted_at is None) for task_id, *_ in records
    ] == records
    return len(rows)


def stats_of(client_for, viewer, user):
    return client_for(viewer).get(f"/api/v1/users/{user.pk}/").json()["task_stats"]


@pytest.fixture
def on_task(cast, client_for):
    """A task `manager` created through the API with `assignee` and `colleague` on it."""
    response = client_for(cast["manager"]).post(
        "/api/v1/tasks/",
        {
            "title": "Synced", "department": cast["dept_a"].pk,
            "due_date": (timezone.now() + timedelta(days=2)).isoformat(),
            "assignees": [cast["assignee"].pk, cast["colleague"].pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Task.objects.get(pk=response.json()["id"])


def test_a_created_tasks_assignee_rows_carry_its_columns(on_task):
    assert assert_in_sync() == 2
    assert set(TaskAssignee.objects.values_list("task_status", "task_live")) == {(Task.Status.TODO, True)}


@pytest.mark.parametrize(
    "change",
    [
        {"status": Task.Status.IN_PROGRESS},
        {"due_date": "2031-05-01T10:00:00Z"},
        {"due_date": None},
        {"status": Task.Status.DONE, "due_date": "2031-05-01T10:00:00Z"},
    ],
)
def test_a_patch_of_status_or_due_date_reaches_the_rows(change, cast, on_task, client_for):
    response = client_for(cast["manager"]).patch(f"/api/v1/tasks/{on_task.pk}/", change, format="json")

    assert response.status_code == 200, response.content
    assert assert_in_sync() == 2
    row = TaskAssignee.objects.filter(task=on_task).first()
    assert row.task_status == change.get("status", Task.Status.TODO)


def test_bulk_update_reaches_every_tasks_rows(cast, on_task, client_for):
    other = TaskFactory(creator=cast["manager"], department=cast["dept_a"], assignees=[cast["assignee"]])

    response = client_for(cast["manager"]).post(
        "/api/v1/tasks/bulk_update/",
        {"ids": [on_task.pk, other.pk], "set": {"status": "in_progress", "due_date": "2031-01-01T00:00:00Z"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert assert_in_sync() == 3
    assert set(TaskAssignee.objects.values_list("task_status", flat=True)) == {Task.Status.IN_PROGRESS}


def test_the_expiry_sweep_reaches_the_rows(cast, on_task):
    Task.objects.filter(pk=on_task.pk).update(due_date=timezone.now() - timedelta(minutes=1))

    assert task_expire_overdue() == 1

    assert assert_in_sync() == 2
    assert set(TaskAssignee.objects.values_list("task_status", flat=True)) == {Task.Status.FAILED}


def test_soft_delete_and_the_admins_restore_reach_the_rows(cast, on_task, client_for, client):
    response = client_for(cast["manager"]).delete(f"/api/v1/tasks/{on_task.pk}/")
    assert response.status_code == 204
    assert assert_in_sync() == 2
    assert not TaskAssignee.objects.filter(task_live=True).exists()

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post("/admin/tasks/task/", {"action": "restore", "_selected_action": [on_task.pk]})
    assert response.status_code == 302
    assert assert_in_sync() == 2
    assert TaskAssignee.objects.filter(task_live=True).count() == 2


def test_assign_and_unassign_keep_the_rows(cast, on_task, client_for):
    client = client_for(cast["manager"])
    Task.objects.filter(pk=on_task.pk).update(status=Task.Status.IN_PROGRESS)
    newcomer = UserFactory(department=cast["dept_a"])

    assert client.post(f"/api/v1/tasks/{on_task.pk}/assign/", {"assignees": [newcomer.pk]}, format="json")\
        .status_code == 200
    assert client.post(f"/api/v1/tasks/{on_task.pk}/unassign/", {"assignees": [cast["colleague"].pk]},
                       format="json").status_code == 200

    assert assert_in_sync() == 2
    assert TaskAssignee.objects.get(task=on_task, user=newcomer).task_status == Task.Status.IN_PROGRESS


def test_a_change_of_other_columns_leaves_the_rows_alone(cast, on_task, client_for):
    TaskAssignee.objects.update(task_status="")  # not a state any trigger writes

    response = client_for(cast["manager"]).patch(
        f"/api/v1/tasks/{on_task.pk}/", {"priority": "high", "title": "Renamed"}, format="json"
    )

    assert response.status_code == 200
    assert set(TaskAssignee.objects.values_list("task_status", flat=True)) == {""}


def test_task_stats_follow_every_change(cast, on_task, client_for):
    assignee, ceo = cast["assignee"], cast["ceo"]
    late = TaskFactory(creator=cast["creator"], assignees=[assignee], due_date=timezone.now() + timedelta(hours=1))
    assert stats_of(client_for, ceo, assignee) == {
        "total": 2, "todo": 2, "in_progress": 0, "done": 0, "failed": 0, "overdue": 0
    }

    Task.objects.filter(pk=late.pk).update(due_date=timezone.now() - timedelta(hours=1))
    assert stats_of(client_for, ceo, assignee)["overdue"] == 1
    task_expire_overdue()
    Task.objects.filter(pk=on_task.pk).update(deleted_at=timezone.now())

    assert stats_of(client_for, ceo, assignee) == {
        "total": 1, "todo": 0, "in_progress": 0, "done": 0, "failed": 1, "overdue": 0
    }


def test_the_users_list_counts_in_one_query_over_the_assignee_rows(cast, client_for, django_assert_max_num_queries):
    for person in UserFactory.create_batch(5, department=cast["dept_a"]):
        TaskFactory.create_batch(2, creator=cast["creator"], assignees=[person, cast["assignee"]])

    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(3):
        response = client_for(cast["ceo"]).get("/api/v1/users/?page_size=100")

    assert response.status_code == 200
    by_id = {user["id"]: user["task_stats"]["total"] for user in response.json()["results"]}
    assert by_id[cast["assignee"].pk] == 10
    listing = next(q["sql"] for q in queries.captured_queries if '"stat_counts"' in q["sql"])
    # The counts read the assignee rows alone: no join to the tasks.
    assert listing.count('"tasks_task_assignees"') == 1 and '"tasks_task"' not in listing, listing


def listed_records(client_for, user):
    response = client_for(user).get("/api/v1/task-assignments/")
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_assignment_records_follow_their_tasks_department_and_deletion(cast, on_task, client_for):
    records = set(TaskAssignment.objects.filter(task=on_task).values_list("id", flat=True))
    assert len(records) == 2 and assert_in_sync() == 2
    assert listed_records(client_for, cast["manager"]) == records
    assert listed_records(client_for, cast["other_manager"]) == set()

    response = client_for(cast["manager"]).patch(
        f"/api/v1/tasks/{on_task.pk}/", {"department": cast["dept_b"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert assert_in_sync() == 2
    assert listed_records(client_for, cast["other_manager"]) == records
    # Still theirs: the manager made these records.
    assert listed_records(client_for, cast["manager"]) == records

    Task.objects.filter(pk=on_task.pk).update(deleted_at=timezone.now())
    assert assert_in_sync() == 2
    for persona in ("ceo", "manager", "other_manager", "assignee"):
        assert listed_records(client_for, cast[persona]) == set(), persona


def test_an_employee_lists_the_records_naming_them(cast, on_task, client_for):
    mine = set(TaskAssignment.objects.filter(assigned_to=cast["assignee"]).values_list("id", flat=True))

    assert len(mine) == 1
    assert listed_records(client_for, cast["assignee"]) == mine
    assert listed_records(client_for, cast["outsider"]) == set()


def test_a_department_deleted_leaves_its_records_without_one(cast, on_task, client_for):
    cast["dept_a"].delete()

    assert assert_in_sync() == 2
    assert set(TaskAssignment.objects.values_list("task_department_id", flat=True)) == {None}
    assert len(listed_records(client_for, cast["ceo"])) == 2


@pytest.mark.parametrize("persona, count", [("assignee", 1), ("manager", 2), ("ceo", 2)])
def test_assignment_records_are_listed_without_reading_tasks(
    persona, count, cast, on_task, client_for, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(3):
        response = client_for(cast[persona]).get("/api/v1/task-assignments/")

    assert response.status_code == 200 and response.json()["count"] == count
    reads = [q["sql"] for q in queries.captured_queries if '"tasks_taskassignment"' in q["sql"]]
    assert reads and not any('"tasks_task"' in sql for sql in reads), reads


def test_backfill_rewrites_every_copy(cast, on_task):
    TaskAssignee.objects.update(task_status="", task_due_date=None, task_live=False)
    TaskAssignment.objects.update(task_department=None, task_live=False)

    task_copies.backfill(connection)

    assert assert_in_sync() == 2


def test_migrate_drops_and_puts_back_the_sqlite_triggers_only(cast, on_task):
    """SQLite's triggers are dropped before `migrate` and installed again after it, with the
    copies refilled; PostgreSQL's stay where migration 0007 put them."""
    task_copies.drop_before_migrate(using="default")
    Task.objects.filter(pk=on_task.pk).update(status=Task.Status.DONE)
    dropped = connection.vendor == "sqlite"
    assert set(TaskAssignee.objects.values_list("task_status", flat=True)) == {
        Task.Status.TODO if dropped else Task.Status.DONE
    }

    task_copies.install_after_migrate(using="default")

    assert assert_in_sync() == 2
    Task.objects.filter(pk=on_task.pk).update(status=Task.Status.FAILED)
    assert assert_in_sync() == 2
