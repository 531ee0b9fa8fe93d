"""Two beat processes at once (issue 12 item 4): a recurring schedule fires once per tick.

Each beat fires every entry. Their messages name the tick they are for (`fire_time`, on a
clock grid both beats share) and `schedule_fire` creates one execution per schedule and tick.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from celery import current_app
from celery.beat import _evaluate_entry_kwargs
from django.db import connection
from django_celery_beat.models import PeriodicTask

from task_api import services
from task_api.models import TaskExecution
from task_api.scheduler import ClockAlignedInterval
from task_api.services.schedules import RUN_SCHEDULED_TASK
from task_api.tasks import run_scheduled_task

EVERY_10_S = {"every": 10, "period": "seconds"}


@pytest.fixture
def schedule(runner):
    return services.schedule_create(user=runner, task_name="task_api.tasks.add", args=[2, 3], kwargs={},
                                    interval=EVERY_10_S)


def test_a_tick_fired_twice_makes_one_execution(schedule, sent, django_capture_on_commit_callbacks):
    tick = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.schedule_fire(schedule_id=schedule.pk, fire_time=tick)
        again = services.schedule_fire(schedule_id=schedule.pk, fire_time=tick)
        next_tick = services.schedule_fire(schedule_id=schedule.pk, fire_time=tick + timedelta(seconds=10))

    assert again is None
    assert first.fire_time == tick and next_tick.fire_time == tick + timedelta(seconds=10)
    assert TaskExecution.objects.filter(schedule=schedule).count() == 2
    assert [m["task_id"] for m in sent] == [first.celery_task_id, next_tick.celery_task_id]


def test_the_message_carries_the_tick_as_iso_text(schedule, sent):
    run_scheduled_task.run(schedule_id=str(schedule.pk), fire_time="2026-01-01T12:00:10+00:00")
    run_scheduled_task.run(schedule_id=str(schedule.pk), fire_time="2026-01-01T12:00:10+00:00")
    # A message from a beat that names no tick (an older beat, "Run" in admin) still fires.
    run_scheduled_task.run(schedule_id=str(schedule.pk))

    fire_times = sorted(TaskExecution.objects.filter(schedule=schedule).values_list("fire_time", flat=True),
                        key=lambda value: value is None)
    assert fire_times == [datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC), None]


def clear_of_a_tick(period: float = 10) -> None:
    """Wait until the next tick is more than a second away, so two sends in a row share one."""
    while period - datetime.now(UTC).timestamp() % period < 1.5:
        time.sleep(0.1)


def beat_scheduler(monkeypatch):
    """A scheduler as `celery beat` builds it from the settings, in this process."""
    from celery.utils.imports import symbol_by_name
    from django_celery_beat import schedulers

    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    return symbol_by_name(current_app.conf.beat_scheduler)(app=current_app, lazy=True)


def test_two_beats_send_the_same_tick_and_one_execution_comes_of_it(schedule, sent, monkeypatch):
    messages = []
    monkeypatch.setattr(current_app.tasks[RUN_SCHEDULED_TASK], "apply_async",
                        lambda args=None, kwargs=None, **options: messages.append(kwargs))
    name = schedule.periodic_task.name
    first_beat, second_beat = beat_scheduler(monkeypatch), beat_scheduler(monkeypatch)
    # Both loaded the schedule before either fired, as two running beats have.
    first_entry, second_entry = first_beat.schedule[name], second_beat.schedule[name]
    clear_of_a_tick()

    first_beat.apply_async(first_entry)
    second_beat.apply_async(second_entry)

    assert len(messages) == 2 and messages[0] == messages[1]
    tick = datetime.fromisoformat(messages[0]["fire_time"])
    assert tick.timestamp() % 10 == 0 and tick <= datetime.now(UTC) < tick + timedelta(seconds=10)
    for kwargs in messages:
        run_scheduled_task.run(**kwargs)
    assert TaskExecution.objects.filter(schedule=schedule).count() == 1
    # Each beat counted its own firing; the row keeps the higher count, not the sum or the last.
    assert PeriodicTask.objects.get(pk=schedule.periodic_task_id).total_run_count == 1


def test_the_row_keeps_the_higher_run_count_and_the_later_time(schedule, monkeypatch):
    name = schedule.periodic_task.name
    ahead, behind = beat_scheduler(monkeypatch).schedule[name], beat_scheduler(monkeypatch).schedule[name]
    for _ in range(3):
        ahead = next(ahead)
    behind = next(behind)
    ahead.save()
    behind.save()  # written last, by the beat that fired less

    row = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert (row.total_run_count, row.last_run_at) == (3, max(ahead.model.last_run_at, behind.model.last_run_at))


def test_crontab_firings_are_named_by_their_minute(runner, monkeypatch):
    crontab = services.schedule_create(user=runner, task_name="task_api.tasks.add", args=[1, 1], kwargs={},
                                       crontab={"minute": "*"})
    entry = beat_scheduler(monkeypatch).schedule[crontab.periodic_task.name]
    clear_of_a_tick(60)

    tick = datetime.fromisoformat(_evaluate_entry_kwargs(entry.kwargs)["fire_time"])

    assert (tick.second, tick.microsecond) == (0, 0) and tick <= datetime.now(UTC) < tick + timedelta(minutes=1)


def test_the_insert_that_loses_the_race_answers_with_the_winner(schedule, runner):
    """Past the existence check both firings insert; the unique constraint keeps one."""
    tick = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    fire = dict(user=runner, task_name="task_api.tasks.add", args=[2, 3], kwargs={}, schedule=schedule, fire_time=tick)

    first, created = services.execution_submit(**fire)
    second, created_again = services.execution_submit(**fire)

    assert (created, created_again, second.pk) == (True, False, first.pk)
    assert TaskExecution.objects.filter(schedule=schedule).count() == 1


@pytest.mark.parametrize(
    "last_run, now, due, next_check",
    [
        # Created at :03; not due until the grid's next multiple of 10 s, whatever the beat.
        ("12:00:03", "12:00:09.5", False, 0.5),
        ("12:00:03", "12:00:10.2", True, 9.8),
        # Fired the :10 tick at :10.2: not again until :20.
        ("12:00:10.2", "12:00:19", False, 1),
        # Down for a while: the latest tick fires once, the missed ones are not caught up.
        ("12:00:10.2", "12:01:05", True, 5),
        ("12:01:05", "12:01:06", False, 4),
    ],
)
def test_interval_schedules_are_due_on_the_clock_grid(last_run, now, due, next_check):
    def at(text):
        return datetime.fromisoformat(f"2026-01-01T{text}+00:00")

    schedule = ClockAlignedInterval(run_every=timedelta(seconds=10), nowfun=lambda: at(now))

    state = schedule.is_due(at(last_run))

    assert state.is_due is due
    assert state.next == pytest.approx(next_check)


@pytest.mark.services
def test_two_workers_firing_the_same_tick_at_once_make_one_execution(transactional_db, runner, sent):
    """Both beats' messages taken by two worker processes at the same moment: one insert wins."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent inserts need PostgreSQL")
    schedule = services.schedule_create(user=runner, task_name="task_api.tasks.add", args=[2, 3], kwargs={},
                                        interval=EVERY_10_S)
    tick = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    start = threading.Barrier(2)
    results, errors = [], []

    def fire():
        try:
            start.wait(5)
            results.append(services.schedule_fire(schedule_id=schedule.pk, fire_time=tick))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert TaskExecution.objects.filter(schedule=schedule, fire_time=tick).count() == 1
