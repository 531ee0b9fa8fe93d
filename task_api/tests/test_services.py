from datetime import timedelta

import pytest
from django.utils import timezone

from task_api import services
from task_api.models import TaskExecution
from task_api.services import EXECUTION_HEADER
from task_api.tests import sample_tasks
from task_api.tests.factories import TaskExecutionFactory

Status = TaskExecution.Status


def run_eagerly(task, execution, *args, **kwargs):
    """Run the task body in-process as a worker would for this execution's message."""
    return task.apply(
        args=args,
        kwargs=kwargs,
        task_id=execution.celery_task_id,
        headers={EXECUTION_HEADER: str(execution.pk)},
    )


def test_dispatcher_sends_due_scheduled_executions_once(runner, sent, django_capture_on_commit_callbacks):
    now = timezone.now()
    due = TaskExecutionFactory(user=runner, status=Status.SCHEDULED, scheduled_at=now - timedelta(seconds=1))
    TaskExecutionFactory(user=runner, status=Status.SCHEDULED, scheduled_at=now + timedelta(minutes=5))
    TaskExecutionFactory(user=runner, status=Status.REVOKED, scheduled_at=now - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.executions_dispatch_due(now=now) == 1
        assert services.executions_dispatch_due(now=now) == 0

    due.refresh_from_db()
    assert (due.status, due.dispatched_at) == (Status.PENDING, now)
    assert [(m["task_id"], m["headers"]) for m in sent] == [(due.celery_task_id, {EXECUTION_HEADER: str(due.pk)})]


def test_dispatcher_resends_pending_executions_that_never_left(
    runner, sent, settings, django_capture_on_commit_callbacks
):
    now = timezone.now()
    unsent = TaskExecutionFactory(user=runner, dispatched_at=None)
    lost = TaskExecutionFactory(
        user=runner, dispatched_at=now - settings.TASK_API_REDISPATCH_AFTER - timedelta(seconds=1)
    )
    TaskExecutionFactory(user=runner, dispatched_at=now - timedelta(seconds=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.executions_dispatch_due(now=now) == 2

    assert {m["task_id"] for m in sent} == {unsent.celery_task_id, lost.celery_task_id}
    assert TaskExecution.objects.filter(pk__in=[unsent.pk, lost.pk], dispatched_at=now).count() == 2


def test_failed_dispatch_is_retried_on_the_next_round(runner, monkeypatch, django_capture_on_commit_callbacks):
    task = sample_tasks.write_marker._get_current_object()
    monkeypatch.setattr(task, "apply_async", lambda *a, **kw: (_ for _ in ()).throw(ConnectionError("down")))
    execution = TaskExecutionFactory(
        user=runner, task_name=task.name, args=["/dev/null"], status=Status.SCHEDULED, scheduled_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.executions_dispatch_due()

    execution.refresh_from_db()
    assert (execution.status, execution.dispatched_at) == (Status.PENDING, None)


def test_guard_runs_the_body_once_and_records_success(runner, tmp_path):
    marker = tmp_path / "marker"
    execution = TaskExecutionFactory(user=runner, task_name=sample_tasks.write_marker.name)

    first = run_eagerly(sample_tasks.write_marker, execution, str(marker), "hello")
    second = run_eagerly(sample_tasks.write_marker, execution, str(marker), "hello")

    assert first.get() == "hello"
    assert second.state == "IGNORED"
    assert marker.read_text() == "hello\n"
    execution.refresh_from_db()
    assert (execution.status, execution.result) == (Status.SUCCESS, "hello")
    assert execution.started_at <= execution.completed_at


@pytest.mark.parametrize("state", [Status.REVOKED, Status.SCHEDULED, Status.SUCCESS, Status.STARTED])
def test_guard_refuses_executions_not_pending(runner, tmp_path, state):
    marker = tmp_path / "marker"
    execution = TaskExecutionFactory(user=runner, status=state, task_name=sample_tasks.write_marker.name)

    result = sample_tasks.write_marker.apply(args=[str(marker)], headers={EXECUTION_HEADER: str(execution.pk)})

    assert result.state == "IGNORED"
    assert not marker.exists()
    execution.refresh_from_db()
    assert execution.status == state


def test_failure_records_traceback(runner):
    execution = TaskExecutionFactory(user=runner, task_name=sample_tasks.explode.name)

    run_eagerly(sample_tasks.explode, execution, "kaput")

    execution.refresh_from_db()
    assert execution.status == Status.FAILURE
    assert execution.result == {"exc_type": "RuntimeError", "exc_message": "kaput"}
    assert "RuntimeError: kaput" in execution.traceback
    assert execution.completed_at is not None


def test_progress_is_recorded_while_running(runner, tmp_path):
    go = tmp_path / "go"
    go.touch()
    execution = TaskExecutionFactory(user=runner, task_name=sample_tasks.wait_for_file.name)

    run_eagerly(sample_tasks.wait_for_file, execution, str(go))

    execution.refresh_from_db()
    assert execution.status == Status.SUCCESS
    assert execution.progress == {"percent": 100, "message": "go file seen"}


def test_calls_outside_the_api_cost_no_execution_query(runner, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert sample_tasks.two_permissions.apply(args=[1], kwargs={"c": "z"}).get() == 3


def test_lost_runs_past_their_deadline_become_failures(runner):
    now = timezone.now()
    lost = TaskExecutionFactory(user=runner, status=Status.STARTED, run_deadline=now - timedelta(seconds=1))
    alive = TaskExecutionFactory(user=runner, status=Status.PROGRESS, run_deadline=now + timedelta(minutes=1))

    assert services.executions_fail_lost(now=now) == 1

    lost.refresh_from_db()
    alive.refresh_from_db()
    assert (lost.status, alive.status) == (Status.FAILURE, Status.PROGRESS)
    assert "WorkerLostError" in lost.traceback


def test_purge_deletes_only_old_finished_executions(runner):
    old = timezone.now() - timedelta(days=100)
    TaskExecutionFactory(user=runner, status=Status.SUCCESS, created_at=old)
    kept = [
        TaskExecutionFactory(user=runner, status=Status.SCHEDULED, created_at=old),
        TaskExecutionFactory(user=runner, status=Status.SUCCESS),
    ]

    assert services.executions_purge(older_than=timedelta(days=90)) == 1
    assert set(TaskExecution.objects.values_list("pk", flat=True)) == {e.pk for e in kept}


def test_dispatch_entry_is_in_beat_tables(db):
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(task="task_api.tasks.dispatch_due_executions")

    assert entry.enabled
    assert (entry.interval.every, entry.interval.period) == (5, "seconds")


@pytest.mark.django_db
@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "select-then-update"])
def test_finishing_changes_and_names_only_the_rows_still_in_the_given_states(runner, monkeypatch, returning):
    """Both ways `finish_executions` runs (UPDATE ... RETURNING, or a read first where the database
    lacks RETURNING) finish and name exactly the rows still in `from_statuses`."""
    from django.db import connection

    from task_api.services.executions import finish_executions

    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returning)
    running = TaskExecutionFactory(user=runner, status=TaskExecution.Status.STARTED)
    done = TaskExecutionFactory(user=runner, status=TaskExecution.Status.SUCCESS, result=1)
    now = timezone.now()

    rows = finish_executions(
        [running.pk, done.pk], from_statuses=TaskExecution.RUNNING, status="FAILURE", completed_at=now, error="lost"
    )

    assert [row[:3] for row in rows] == [(running.pk, runner.pk, running.task_name)]
    running.refresh_from_db()
    done.refresh_from_db()
    assert (running.status, running.error, running.completed_at) == ("FAILURE", "lost", now)
    # What the finish announcement carries: the row's shown fields as a read gives them (RETURNING only).
    shown = {name: getattr(running, name) for name in TaskExecution.FINISH_FIELDS}
    assert rows[0].shown == (shown if returning else None)
    assert (done.status, done.result, done.error) == ("SUCCESS", 1, None)
