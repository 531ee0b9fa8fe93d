"""Staff's fixes for an execution: re-run it (same task, arguments, owner; linked) or mark it failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import Conflict, Forbidden
from task_api import services
from task_api.models import TaskExecution
from task_api.tests.factories import TaskExecutionFactory

Status = TaskExecution.Status


@pytest.mark.parametrize("status", [Status.SUCCESS, Status.FAILURE, Status.REVOKED])
def test_rerun_of_a_finished_execution_is_a_new_linked_one(runner, sent, status, django_capture_on_commit_callbacks):
    old = TaskExecutionFactory(user=runner, status=status, args=[2, 3], kwargs={})

    with django_capture_on_commit_callbacks(execute=True):
        rerun = services.execution_rerun(execution=old)

    rerun.refresh_from_db()
    assert (rerun.user, rerun.task_name, rerun.args, rerun.kwargs) == (runner, old.task_name, [2, 3], {})
    assert rerun.rerun_of == old and rerun.pk != old.pk and rerun.status == Status.PENDING
    assert list(old.reruns.all()) == [rerun]
    assert [m["task_id"] for m in sent] == [rerun.celery_task_id]
    old.refresh_from_db()
    assert old.status == status


def test_rerun_of_a_waiting_execution_cancels_it_first(runner, sent, django_capture_on_commit_callbacks):
    old = TaskExecutionFactory(user=runner, status=Status.PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        rerun = services.execution_rerun(execution=old)

    old.refresh_from_db()
    assert old.status == Status.REVOKED
    assert rerun.rerun_of_id == old.pk
    assert [m["task_id"] for m in sent] == [rerun.celery_task_id]


@pytest.mark.parametrize("status", [Status.STARTED, Status.PROGRESS, Status.RETRY])
def test_a_running_execution_is_not_rerun(runner, sent, status):
    old = TaskExecutionFactory(user=runner, status=status)

    with pytest.raises(Conflict):
        services.execution_rerun(execution=old)

    assert TaskExecution.objects.count() == 1


def test_rerun_checks_the_owners_rights_now(db, sent):
    # The owner lost the permission since: the re-run is refused and the original untouched.
    old = TaskExecutionFactory(status=Status.PENDING)

    with pytest.raises(Forbidden):
        services.execution_rerun(execution=old)

    old.refresh_from_db()
    assert old.status == Status.PENDING and TaskExecution.objects.count() == 1


def test_rerun_refuses_an_inactive_owner(runner, sent):
    runner.is_active = False
    runner.save()
    old = TaskExecutionFactory(user=runner, status=Status.FAILURE)

    with pytest.raises(Forbidden):
        services.execution_rerun(execution=old)


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.PENDING, Status.STARTED, Status.PROGRESS, Status.RETRY])
def test_mark_failed_ends_an_unfinished_execution(db, status, admin_user):
    execution = TaskExecutionFactory(status=status, started_at=timezone.now() - timedelta(hours=1))

    services.execution_mark_failed(execution=execution, by=admin_user)

    execution.refresh_from_db()
    assert execution.status == Status.FAILURE and execution.completed_at is not None
    assert execution.error == f"MarkedFailed: marked failed by {admin_user.email} while {status}."


@pytest.mark.parametrize("status", [Status.SUCCESS, Status.FAILURE, Status.REVOKED])
def test_mark_failed_leaves_a_finished_execution_alone(db, status, admin_user):
    execution = TaskExecutionFactory(status=status)

    with pytest.raises(Conflict):
        services.execution_mark_failed(execution=execution, by=admin_user)

    execution.refresh_from_db()
    assert execution.status == status and execution.error is None


def test_purging_the_original_keeps_its_rerun(runner, sent):
    old = TaskExecutionFactory(user=runner, status=Status.SUCCESS, created_at=timezone.now() - timedelta(days=30))
    rerun = services.execution_rerun(execution=old)

    services.executions_purge(older_than=timedelta(days=7))

    rerun.refresh_from_db()
    assert rerun.rerun_of_id is None
