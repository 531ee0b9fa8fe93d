"""State changes made on the worker while an execution runs (called by the guard and signals)."""

import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from core import pubsub, results
from core.models import Statement

from .. import events
from ..models import TaskExecution
from .executions import EXECUTION_HEADER, UNFINISHED, finish_executions

logger = logging.getLogger(__name__)

Status = TaskExecution.Status
# An error message longer than this is cut: it is shown in lists and stored per row.
ERROR_MAX_CHARS = 2000


class ResultNotJSON(ValueError):
    """A task returned something that is not JSON (NaN, infinity, an arbitrary object)."""


def describe_error(exception: BaseException) -> str:
    """The exception as "Type: message": what non-staff see of a failure instead of the traceback."""
    text = f"{type(exception).__name__}: {exception}" if str(exception) else type(exception).__name__
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


def check_result(result) -> None:
    """Raise ResultNotJSON unless `result` is JSON the database can store.

    The types DjangoJSONEncoder writes, without NaN or infinity, and without NUL characters
    (valid JSON, but PostgreSQL's jsonb refuses them).
    """
    try:
        text = json.dumps(result, cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ResultNotJSON(f"The task returned a result that is not valid JSON ({exc}).") from None
    # The escape in the text is a cheap first look; a string holding a backslash and "u0000" has it too.
    if "\\u0000" in text and _has_nul(json.loads(text)):
        raise ResultNotJSON("The task returned a result with a NUL character, which cannot be stored.")


def _has_nul(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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
    # Past its hard time limit plus TASK_API_LOST_RUN_GRACE a silent STARTED row is declared lost.
    deadline = now + timedelta(seconds=time_limit) + settings.TASK_API_LOST_RUN_GRACE if time_limit else None
    # Written out, as finish_executions is: it runs before every API task, and the queryset
    # (with its Coalesce) cost 0.3 ms of Python to compile against 0.06 ms for the statement.
    db = connections[router.db_for_write(TaskExecution)]
    quote, field = db.ops.quote_name, TaskExecution._meta.get_field
    status, started_at, run_deadline = (quote(name) for name in ("status", "started_at", "run_deadline"))
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(TaskExecution._meta.db_table)} SET {status} = %s, "
            f"{started_at} = COALESCE({started_at}, %s), {run_deadline} = %s "
            f"WHERE {quote('id')} = %s AND {status} IN (%s, %s)",
            [
                Status.STARTED,
                field("started_at").get_db_prep_save(now, db),
                field("run_deadline").get_db_prep_save(deadline, db),
                field("id").get_db_prep_value(execution_id, db),
                Status.PENDING,
                Status.RETRY,
            ],
        )
        return cursor.rowcount == 1


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


# The finish announcement and the live streams' wake-up (after the commit) leave in one Redis round trip.
@pubsub.batched_publishes()
def execution_succeeded(*, execution_id: str, result, along: Sequence[Statement] = ()) -> None:
    """The run's row SUCCESS with its result; `along`: the run's Celery result row (`core.results`,
    held back from the backend), written in the same statement."""
    completed_at = timezone.now()
    try:
        with transaction.atomic():
            finished = finish_executions(
                [execution_id],
                from_statuses=TaskExecution.RUNNING,
                status=Status.SUCCESS,
                completed_at=completed_at,
                along=along,
                result=_jsonable(result),
                traceback=None,
                error=None,
            )
    except DatabaseError as exc:
        # JSON the database still refuses (PostgreSQL's jsonb takes no \u0000): the run must
        # end all the same, not stay STARTED until it counts as lost. The Celery result row
        # went down with that statement: it is stored on its own, as the backend would have.
        logger.warning("Could not store the result of execution %s", execution_id, exc_info=True)
        results.store_held(along)
        error = ResultNotJSON(f"The task's result could not be stored ({type(exc).__name__}).")
        execution_failed(execution_id=execution_id, exception=error, traceback=describe_error(error))
        return
    events.announce_finished(execution_id, shown=finished[0].shown if finished else None)


@pubsub.batched_publishes()
def execution_failed(*, execution_id: str, exception: BaseException, traceback: str) -> None:
    error = describe_error(exception)
    completed_at = timezone.now()
    try:
        with transaction.atomic():
            finished = finish_executions(
                [execution_id],
                from_statuses=UNFINISHED,
                status=Status.FAILURE,
                completed_at=completed_at,
                result={"exc_type": type(exception).__name__, "exc_message": str(exception)},
                error=error,
                traceback=traceback,
            )
    except DatabaseError:
        # The message itself was unstorable (e.g. a NUL character): keep the state, drop the text.
        logger.warning("Could not store the failure of execution %s", execution_id, exc_info=True)
        with transaction.atomic():
            finished = finish_executions(
                [execution_id],
                from_statuses=UNFINISHED,
                status=Status.FAILURE,
                completed_at=completed_at,
                result={"exc_type": type(exception).__name__, "exc_message": ""},
                error=type(exception).__name__,
                traceback=None,
            )
    events.announce_finished(execution_id, shown=finished[0].shown if finished else None)


def execution_retrying(*, execution_id: str, retries: int, reason: str) -> None:
    TaskExecution.objects.filter(pk=execution_id, status__in=TaskExecution.RUNNING).update(
        status=Status.RETRY, retries=retries, traceback=reason, error=reason[:ERROR_MAX_CHARS]
    )


@transaction.atomic
def execution_revoked(*, celery_task_id: str) -> None:
    execution_ids = TaskExecution.objects.filter(celery_task_id=celery_task_id).values_list("pk", flat=True)
    completed_at = timezone.now()
    # The UPDATE answers the rows it changed, so the signal names exactly the execution it finished.
    finish_executions(list(execution_ids), from_statuses=UNFINISHED, status=Status.REVOKED, completed_at=completed_at)
