from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from core.exceptions import ApplicationError
from notifications import services as notifications
from tasks import services
from tasks.models import Task, TaskAssignment, TaskStatusHistory


def test_create_records_the_first_status_and_assignments(cast):
    task = services.task_create(creator=cast["creator"], title="T", assignees=[cast["assignee"]])

    assert list(TaskStatusHistory.objects.filter(task=task).values_list("from_status", "to_status", "changed_by")) == [
        ("", "todo", cast["creator"].pk)
    ]
    assert list(TaskAssignment.objects.filter(task=task).values_list("assigned_to", "assigned_by", "action")) == [
        (cast["assignee"].pk, cast["creator"].pk, "assigned")
    ]
    assert task.priority_rank == Task.PRIORITY_RANKS[Task.Priority.MEDIUM]


def test_create_refuses_a_past_due_date_and_another_status(cast):
    with pytest.raises(ValidationError):
        services.task_create(creator=cast["creator"], title="T", due_date=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        services.task_create(creator=cast["creator"], title="T", status=Task.Status.IN_PROGRESS)
    assert not Task.all_objects.exists()


def test_notifications_run_inside_the_service_transaction(cast, monkeypatch):
    seen = []

    def record(**kwargs):
        seen.append(connection.in_atomic_block)

    for name in ("notify_tasks_created", "notify_tasks_updated", "notify_tasks_assigned"):
        monkeypatch.setattr(notifications, name, record)
    task = services.task_create(creator=cast["creator"], title="T", assignees=[cast["assignee"]])
    services.task_update(task=task, by=cast["creator"], title="T2")
    services.task_mark_done(task=task, by=cast["assignee"])

    assert len(seen) == 4 and all(seen)


def test_update_with_assignees_sets_the_whole_set(cast, task):
    services.task_update(task=task, by=cast["manager"], assignees=[cast["colleague"]])

    assert list(task.assignees.all()) == [cast["colleague"]]
    assert list(
        TaskAssignment.objects.filter(task=task, assigned_by=cast["manager"]).values_list("action", "assigned_to")
    ) == [("unassigned", cast["assignee"].pk), ("assigned", cast["colleague"].pk)]
    task.refresh_from_db()
    assert task.assigned_by == cast["manager"]


def test_update_without_changes_writes_nothing(cast, task):
    before = task.updated_at

    services.task_update(task=task, by=cast["creator"], title=task.title, status=task.status)

    task.refresh_from_db()
    assert task.updated_at == before
    assert TaskStatusHistory.objects.filter(task=task).count() == 1


def test_done_after_the_due_date_is_late(cast):
    task = services.task_create(creator=cast["creator"], title="T", due_date=timezone.now() + timedelta(hours=1))
    Task.objects.filter(pk=task.pk).update(due_date=timezone.now() - timedelta(minutes=1))

    task = services.task_mark_done(task=task, by=cast["creator"])

    assert task.completed_late is True and task.status == Task.Status.DONE


def test_delegate_requires_a_current_assignee(cast, task):
    with pytest.raises(ApplicationError) as error:
        services.task_delegate(task=task, by=cast["creator"], to=cast["colleague"])

    assert error.value.status_code == 403
    assert list(task.assignees.all()) == [cast["assignee"]]
