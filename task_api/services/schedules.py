"""Recurring runs: a TaskSchedule row owned by a user plus its django-celery-beat entry."""

import json
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.exceptions import ApplicationError, Conflict

from ..models import TaskExecution, TaskSchedule
from .executions import authorize_call, check_payload, execution_submit, registered_task_for

logger = logging.getLogger(__name__)

# Every recurring run fires this internal task, which re-checks the owner and creates the execution.
RUN_SCHEDULED_TASK = "task_api.tasks.run_scheduled"
CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
# Shorter recurring intervals would let one user keep a worker busy on their own; longer
# ones are typing mistakes (and past timedelta's range, an overflow).
MIN_INTERVAL = timedelta(seconds=10)
MAX_INTERVAL = timedelta(days=366)
PERIOD_SECONDS = {
    IntervalSchedule.DAYS: 86400,
    IntervalSchedule.HOURS: 3600,
    IntervalSchedule.MINUTES: 60,
    IntervalSchedule.SECONDS: 1,
}


def interval_problem(*, every: int, period: str) -> str | None:
    """What is wrong with an interval outside MIN_INTERVAL..MAX_INTERVAL, else None."""
    seconds = every * PERIOD_SECONDS[period]  # int arithmetic: no overflow however large `every` is
    if seconds < MIN_INTERVAL.total_seconds():
        return f"The shortest interval is {int(MIN_INTERVAL.total_seconds())} seconds."
    if seconds > MAX_INTERVAL.total_seconds():
        return f"The longest interval is {MAX_INTERVAL.days} days."
    return None


def _check_room_for_one_more(user_id) -> None:
    """409 when the user already has TASK_API_MAX_SCHEDULES_PER_USER enabled schedules.

    The owner's row is locked first, so two concurrent requests cannot both take the last place.
    """
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
    limit = settings.TASK_API_MAX_SCHEDULES_PER_USER
    active = TaskSchedule.objects.filter(user_id=user_id, periodic_task__enabled=True).count()
    if active >= limit:
        raise Conflict(f"You already have {active} active schedules; the limit is {limit}. Pause or delete one first.")


def _interval(*, every: int, period: str) -> IntervalSchedule:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    return interval


def _crontab(**fields) -> CrontabSchedule:
    fields = {name: str(fields.get(name, "*")) for name in CRONTAB_FIELDS}
    try:
        CrontabSchedule(**fields).full_clean(exclude=["timezone"])
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
        raise ValidationError({"crontab": problems}) from exc
    crontab, _ = CrontabSchedule.objects.get_or_create(**fields, timezone="UTC")
    return crontab


@transaction.atomic
def schedule_create(
    *,
    user,
    task_name: str,
    args: list,
    kwargs: dict,
    interval: dict | None = None,
    crontab: dict | None = None,
    enabled: bool = True,
) -> TaskSchedule:
    """Exactly one of `interval` (within MIN_INTERVAL..MAX_INTERVAL) and `crontab`.

    ScheduleCreateSerializer checks both, and the args/kwargs types, before the request gets here.
    """
    entry = registered_task_for(user=user, task_name=task_name)
    check_payload(args=args, kwargs=kwargs)
    entry.check_arguments(args, kwargs)
    authorize_call(entry=entry, user=user, args=args, kwargs=kwargs)
    if enabled:
        _check_room_for_one_more(user.pk)
    schedule_id = uuid.uuid4()
    periodic_task = PeriodicTask(
        name=f"task-api: {task_name} for {user.email} ({schedule_id})"[:200],
        task=RUN_SCHEDULED_TASK,
        kwargs=json.dumps({"schedule_id": str(schedule_id)}),
        enabled=enabled,
        description=f"Recurring run of {task_name} created through the task API by {user.email}.",
    )
    if interval is not None:
        periodic_task.interval = _interval(**interval)
    else:
        periodic_task.crontab = _crontab(**crontab)
    periodic_task.save()
    return TaskSchedule.objects.create(
        id=schedule_id,
        user=user,
        task_name=task_name,
        args=args,
        kwargs=kwargs,
        periodic_task=periodic_task,
    )


@transaction.atomic
def schedule_set_enabled(*, schedule: TaskSchedule, enabled: bool) -> TaskSchedule:
    periodic_task = schedule.periodic_task
    if enabled and not periodic_task.enabled:
        _check_room_for_one_more(schedule.user_id)
    periodic_task.enabled = enabled
    # save(), not update(): its signal is what tells a running beat to reload its schedule. Only
    # these columns: the run counters are beat's, written as it fires (task_api/scheduler.py);
    # pausing clears last_run_at (django-celery-beat), so a resumed schedule starts afresh.
    periodic_task.save(update_fields=["enabled", "last_run_at", "date_changed"])
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: TaskSchedule) -> None:
    # The schedule row goes with its beat entry (CASCADE); past executions keep schedule=NULL.
    schedule.periodic_task.delete()


def schedule_fire(*, schedule_id: str, fire_time: datetime | None = None) -> TaskExecution | None:
    """One firing: a normal execution owned by the schedule's user, if they may still run it.

    `fire_time` is the beat tick the firing is for (task_api/scheduler.py): a second firing of
    the same tick (a second beat) creates nothing. Without one (a message from an older beat,
    "Run" in the beat admin) every firing counts.
    """
    schedule = TaskSchedule.objects.select_related("user").filter(pk=schedule_id).first()
    if schedule is None:
        logger.info("Schedule %s no longer exists; firing ignored", schedule_id)
        return None
    if fire_time is not None and TaskExecution.objects.filter(schedule=schedule, fire_time=fire_time).exists():
        logger.debug("Schedule %s already fired for %s; firing ignored", schedule_id, fire_time.isoformat())
        return None
    if not schedule.user.is_active:
        logger.warning("Schedule %s skipped: its owner is inactive", schedule_id)
        return None
    try:
        execution, created = execution_submit(
            user=schedule.user,
            task_name=schedule.task_name,
            args=schedule.args,
            kwargs=schedule.kwargs,
            schedule=schedule,
            fire_time=fire_time,
        )
    except (ApplicationError, ValidationError) as exc:
        # Permissions are checked at each firing: a revoked permission stops the runs.
        logger.warning("Schedule %s skipped: %s", schedule_id, exc)
        return None
    if not created:
        logger.debug("Schedule %s already fired for %s; firing ignored", schedule_id, fire_time.isoformat())
        return None
    return execution
