"""The task API against a real Celery worker (and beat) on Redis and PostgreSQL."""

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from conftest import wait_for
from task_api.models import TaskExecution
from task_api.tests import sample_tasks

pytestmark = pytest.mark.services

EXECUTE = "/api/v1/task-api/execute/"
EXECUTIONS = "/api/v1/task-api/executions/"
DISPATCH_TASK = "task_api.tasks.dispatch_due_executions"
WORKER_ARGS = ["--include", "task_api.tests.sample_tasks"]


@pytest.fixture
def start_worker(celery_process):
    return lambda: celery_process("worker", extra_args=WORKER_ARGS)


@pytest.fixture
def beat(celery_process):
    """A real beat running the dispatcher every second (the shipped entry says 5 s)."""
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="task_api: dispatch due executions",
        defaults={"task": DISPATCH_TASK, "interval": every_second, "expire_seconds": 5, "enabled": True},
    )
    return celery_process("beat")


def execute(client, task, *args, **body):
    response = client.post(EXECUTE, {"task_name": task.name, "args": list(args), **body}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["execution_id"]


def poll(client, execution_id, predicate, timeout=20.0, message="execution state"):
    def check():
        body = client.get(f"{EXECUTIONS}{execution_id}/").json()
        return body if predicate(body) else None

    return wait_for(check, timeout=timeout, interval=0.05, message=message)


def finished(client, execution_id, timeout=20.0):
    return poll(client, execution_id, lambda body: body["is_complete"], timeout, "execution to finish")


def dispatcher_ticks_after(beat, ticks):
    """Wait until beat has sent `ticks` more dispatcher runs than it had so far.

    Beat writes an entry's run count as it sends it (task_api/scheduler.py), so the count is
    read from the entry's row rather than from beat's log, which is quiet at INFO.
    """
    entry = PeriodicTask.objects.filter(task=DISPATCH_TASK)

    def sent():
        return entry.values_list("total_run_count", flat=True).first() or 0

    seen = sent()
    wait_for(lambda: sent() >= seen + ticks, timeout=15, message="dispatcher ticks")


def test_execute_reaches_success_with_timestamps_and_duration(start_worker, runner, client_for):
    start_worker()
    client = client_for(runner)

    execution_id = execute(client, sample_tasks.write_marker._get_current_object(), "/dev/null", "hi")
    body = finished(client, execution_id)

    assert (body["status"], body["result"]) == ("SUCCESS", "hi")
    assert body["created_at"] <= body["started_at"] <= body["completed_at"]
    assert re.fullmatch(r"\d+:\d\d:\d\d", body["duration"])
    # The result row, written with the finish: what django-celery-results' backend stores.
    stored = TaskResult.objects.get(task_id=body["celery_task_id"])
    assert (stored.status, stored.task_name) == ("SUCCESS", "task_api.tests.sample_tasks.write_marker")
    assert (json.loads(stored.result), json.loads(stored.meta)) == ("hi", {"children": []})
    assert (stored.content_type, stored.content_encoding) == ("application/json", "utf-8")
    assert (json.loads(stored.task_args), json.loads(stored.task_kwargs)) == ("['/dev/null', 'hi']", "{}")
    assert stored.worker and stored.date_done >= stored.date_created


def test_failing_task_ends_in_failure_with_traceback(start_worker, runner, client_for):
    start_worker()
    client = client_for(runner)

    execution_id = execute(client, sample_tasks.explode, "kaput")
    body = finished(client, execution_id)

    assert (body["status"], body["error"], body["traceback"]) == ("FAILURE", "RuntimeError: kaput", None)
    assert "RuntimeError: kaput" in TaskExecution.objects.get(pk=execution_id).traceback
    assert body["completed_at"] is not None
    assert TaskResult.objects.get(task_id=body["celery_task_id"]).status == "FAILURE"


def test_progress_is_visible_while_the_task_runs(start_worker, runner, client_for, tmp_path):
    start_worker()
    client = client_for(runner)
    go = tmp_path / "go"

    execution_id = execute(client, sample_tasks.wait_for_file, str(go))
    running = poll(client, execution_id, lambda body: body["status"] == "PROGRESS", message="PROGRESS")
    go.touch()
    done = finished(client, execution_id)

    assert running["progress"] == {"percent": 50, "message": "waiting for the go file"}
    assert running["is_complete"] is False and running["duration"] is None
    assert (done["status"], done["progress"]["percent"]) == ("SUCCESS", 100)


def test_retry_is_recorded_and_the_retry_succeeds(start_worker, runner, client_for, tmp_path):
    start_worker()
    client = client_for(runner)

    body = finished(client, execute(client, sample_tasks.flaky, str(tmp_path / "attempts")))

    assert (body["status"], body["result"]) == ("SUCCESS", 2)
    assert TaskExecution.objects.get(pk=body["id"]).retries == 1


def test_scheduled_run_happens_once_after_its_time(start_worker, beat, runner, client_for, tmp_path):
    start_worker()
    client = client_for(runner)
    marker = tmp_path / "marker"
    when = timezone.now() + timedelta(seconds=3)

    execution_id = execute(client, sample_tasks.write_marker, str(marker), scheduled_at=when.isoformat())
    assert client.get(f"{EXECUTIONS}{execution_id}/").json()["status"] == "SCHEDULED"
    body = finished(client, execution_id)
    dispatcher_ticks_after(beat, 3)

    assert body["status"] == "SUCCESS"
    execution = TaskExecution.objects.get(pk=execution_id)
    assert execution.started_at >= when
    assert marker.read_text() == "ran\n"


def test_cancelled_scheduled_run_never_runs(start_worker, beat, runner, client_for, tmp_path):
    start_worker()
    client = client_for(runner)
    marker = tmp_path / "marker"
    when = timezone.now() + timedelta(seconds=2)

    execution_id = execute(client, sample_tasks.write_marker, str(marker), scheduled_at=when.isoformat())
    cancelled = client.post(f"{EXECUTIONS}{execution_id}/cancel/")
    wait_for(lambda: timezone.now() > when, timeout=5, message="the scheduled time")
    dispatcher_ticks_after(beat, 3)

    assert cancelled.status_code == 200
    assert client.get(f"{EXECUTIONS}{execution_id}/").json()["status"] == "REVOKED"
    assert not marker.exists()


def test_scheduled_run_survives_a_killed_worker_and_runs_once(start_worker, beat, runner, client_for, tmp_path):
    first = start_worker()
    client = client_for(runner)
    marker = tmp_path / "marker"
    when = timezone.now() + timedelta(seconds=2)
    execution_id = execute(client, sample_tasks.write_marker, str(marker), scheduled_at=when.isoformat())

    first.stop(kill=True)
    wait_for(lambda: timezone.now() > when, timeout=5, message="the scheduled time")
    dispatcher_ticks_after(beat, 2)
    assert TaskExecution.objects.get(pk=execution_id).status == "SCHEDULED"  # nobody dispatched it yet
    start_worker()
    body = finished(client, execution_id)
    dispatcher_ticks_after(beat, 3)

    assert body["status"] == "SUCCESS"
    assert marker.read_text() == "ran\n"


def test_execution_the_broker_never_got_is_resent_once(start_worker, beat, runner, tmp_path):
    start_worker()
    marker = tmp_path / "marker"
    # What a request leaves behind when the broker is down at submit time.
    execution = TaskExecution.objects.create(
        user=runner, task_name=sample_tasks.write_marker.name, args=[str(marker)], dispatched_at=None
    )

    wait_for(lambda: TaskExecution.objects.get(pk=execution.pk).status == "SUCCESS", message="resend")
    dispatcher_ticks_after(beat, 3)

    assert marker.read_text() == "ran\n"


def test_detail_long_polls_with_wait_until_the_run_completes(start_worker, runner, client_for):
    start_worker()
    client = client_for(runner)
    execution_id = execute(client, sample_tasks.write_marker._get_current_object(), "/dev/null", "waited")

    body = client.get(f"{EXECUTIONS}{execution_id}/", {"wait": 20}).json()

    assert (body["status"], body["result"], body["is_complete"]) == ("SUCCESS", "waited", True)


def test_a_schedule_reports_its_runs_as_beat_fires_it(start_worker, celery_process, runner, client_for):
    """Issue 13 item 6: after three firings a schedule said `last_run_at: null, total_run_count: 0`."""
    client = client_for(runner)
    created = client.post(
        "/api/v1/task-api/schedules/",
        {"task_name": "task_api.tasks.add", "args": [2, 3], "interval": {"every": 10, "period": "seconds"}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    schedule_id = created.json()["id"]
    assert (created.json()["last_run_at"], created.json()["total_run_count"]) == (None, 0)
    # The API's shortest interval is 10 s; this beat fires it every second.
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task_api_schedule=schedule_id).update(interval=every_second)
    start_worker()
    started = timezone.now()
    celery_process("beat")

    def fired_three_times():
        body = client.get(f"/api/v1/task-api/schedules/{schedule_id}/").json()
        return body if body["total_run_count"] >= 3 else None

    body = wait_for(fired_three_times, timeout=30, interval=0.2, message="three counted firings")
    assert started - timedelta(seconds=1) <= datetime.fromisoformat(body["last_run_at"]) <= timezone.now()
    # Each firing went through the worker and became an execution of the owner's.
    wait_for(
        lambda: TaskExecution.objects.filter(schedule_id=schedule_id, user=runner, status="SUCCESS").count() >= 3,
        timeout=20, message="three successful scheduled executions",
    )
