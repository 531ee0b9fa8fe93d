"""Recurring runs: a TaskSchedule row owned by a user plus its django-celery-beat entry."""

import json
import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.exceptions import ApplicationError

from ..models import TaskExecution, TaskSchedule
from .executions import check_payload, execution_submit, registered_task_for

logger = logging.getLogger(__name__)

# Every recurring run fires this internal task, which re-checks the owner and creates the execution.
RUN_SCHEDULED_TASK = "task_api.tasks.run_scheduled"
CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


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
    entry = registered_task_for(user=user, task_name=task_name)
    check_payload(args=args, kwargs=kwargs)
    entry.check_arguments(args, kwargs)
    if (interval is None) == (crontab is None):
        raise ValidationError({"schedule": "Give exactly one of interval or crontab."})
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
    periodic_task.enabled = enabled
    # save(), not update(): its signal is what tells a running beat to reload its schedule.
    periodic_task.save()
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: TaskSchedule) -> None:
    # The schedule row goes with its beat entry (CASCADE); past executions keep schedule=NULL.
    schedule.periodic_task.delete()


def schedule_fire(*, schedule_id: str) -> TaskExecution | None:
    """One firing: a normal execution owned by the schedule's user, if they may still run it."""
    schedule = TaskSchedule.objects.select_related("user").filter(pk=schedule_id).first()
    if schedule is None:
        logger.info("Schedule %s no longer exists; firing ignored", schedule_id)
        return None
    if not schedule.user.is_active:
        logger.warning("Schedule %s skipped: its owner is inactive", schedule_id)
        return None
    try:
        execution, _ = execution_submit(
            user=schedule.user,
            task_name=schedule.task_name,
            args=schedule.args,
            kwargs=schedule.kwargs,
            schedule=schedule,
        )
    except (ApplicationError, ValidationError) as exc:
        # Permissions are checked at each firing: a revoked permission stops the runs.
        logger.warning("Schedule %s skipped: %s", schedule_id, exc)
        return None
    return execution
