"""State changes made on the worker while an execution runs (called by the guard and signals)."""

import json
import logging
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import events
from ..models import TaskExecution
from .executions import EXECUTION_HEADER

logger = logging.getLogger(__name__)

Status = TaskExecution.Status
# Margin past a task's hard time limit before a silent STARTED row is declared lost.
LOST_RUN_GRACE = timedelta(seconds=60)


def execution_id_of(request) -> str | None:
    """The execution a task request runs for, or None when it was not sent by the API.

    Custom message headers become request attributes on a worker; eager runs
    (`task.apply(headers=...)`) keep them in `request.headers`.
    """
    if request is None:
        return None
    execution_id = getattr(request, EXECUTION_HEADER, None)
    if execution_id is None and isinstance(getattr(request, "headers", None), dict):
        execution_id = request.headers.get(EXECUTION_HEADER)
    return execution_id


def execution_claim(*, execution_id: str, time_limit: float | None) -> bool:
    """PENDING/RETRY -> STARTED for exactly one runner; False means "do not run".

    A cancelled, finished or already running execution is not claimed, so a redelivered or
    duplicate message, or one that raced a cancel, never runs the task body.
    """
    now = timezone.now()
    deadline = now + timedelta(seconds=time_limit) + LOST_RUN_GRACE if time_limit else None
    claimed = TaskExecution.objects.filter(pk=execution_id, status__in=(Status.PENDING, Status.RETRY)).update(
        status=Status.STARTED,
        started_at=Coalesce("started_at", Value(now, output_field=DateTimeField())),
        run_deadline=deadline,
    )
    return claimed == 1


def execution_status(*, execution_id: str) -> str | None:
    return TaskExecution.objects.filter(pk=execution_id).values_list("status", flat=True).first()


def execution_progress(*, execution_id: str, percent: int, message: str) -> None:
    TaskExecution.objects.filter(pk=execution_id, status__in=TaskExecution.RUNNING).update(
        status=Status.PROGRESS, progress={"percent": percent, "message": message}
    )


def _jsonable(value):
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
        return value
    except (TypeError, ValueError):
        return repr(value)


def execution_succeeded(*, execution_id: str, result) -> None:
    TaskExecution.objects.filter(pk=execution_id, status__in=TaskExecution.RUNNING).update(
        status=Status.SUCCESS, result=_jsonable(result), traceback=None, completed_at=timezone.now()
    )
    events.announce_finished(execution_id)


def execution_failed(*, execution_id: str, exception: BaseException, traceback: str) -> None:
    TaskExecution.objects.filter(pk=execution_id).exclude(status__in=TaskExecution.FINISHED).update(
        status=Status.FAILURE,
        result={"exc_type": type(exception).__name__, "exc_message": str(exception)},
        traceback=traceback,
        completed_at=timezone.now(),
    )
    events.announce_finished(execution_id)


def execution_retrying(*, execution_id: str, retries: int, reason: str) -> None:
    TaskExecution.objects.filter(pk=execution_id, status__in=TaskExecution.RUNNING).update(
        status=Status.RETRY, retries=retries, traceback=reason
    )


def execution_revoked(*, celery_task_id: str) -> None:
    TaskExecution.objects.filter(celery_task_id=celery_task_id).exclude(status__in=TaskExecution.FINISHED).update(
        status=Status.REVOKED, completed_at=timezone.now()
    )
