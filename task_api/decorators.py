"""`@api_task`: make a Celery task runnable through the task API, and `report_progress` for its body."""

import functools
from collections.abc import Callable, Iterable

from celery import Task
from celery.exceptions import Ignore
from django.conf import settings

from core import results

from .registry import as_id, call_arguments, registry
from .services import lifecycle

__all__ = ["api_task", "as_id", "call_arguments", "report_progress"]


def api_task(
    permissions: Iterable[str],
    description: str = "",
    *,
    authorize: Callable | None = None,
    time_limit=None,
    soft_time_limit=None,
):
    """Register the Celery task below it; place it ABOVE `@shared_task`.

    Every permission ("app_label.codename") is required to run the task through the API.
    `authorize(user, args, kwargs)`, when given, decides about each call on top of that
    (whose data may this user touch?): a falsy return or a raised PermissionDenied (its
    message is the reason) refuses it, with 403 at execute and schedule creation, and as
    REVOKED when a scheduled run is dispatched. `call_arguments(task, args, kwargs)` gives
    the arguments by name. Tasks without their own limits get `time_limit`/`soft_time_limit`
    (by default the project's CELERY_TASK_TIME_LIMIT / CELERY_TASK_SOFT_TIME_LIMIT).
    """
    if isinstance(permissions, str):
        raise TypeError("@api_task takes a list of permissions, not a single string")

    def decorator(task):
        # shared_task hands back a lazy proxy; the registry needs the real task object.
        real = task._get_current_object() if hasattr(task, "_get_current_object") else task
        if not isinstance(real, Task):
            raise TypeError("@api_task must be placed above @shared_task (or @app.task)")
        if real.time_limit is None:
            real.time_limit = time_limit or settings.CELERY_TASK_TIME_LIMIT
        if real.soft_time_limit is None:
            real.soft_time_limit = soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        registry.register(
            real,
            permissions=permissions,
            description=description or (real.__doc__ or "").strip(),
            authorize=authorize,
        )
        real.run = _guarded(real, real.run)
        return task

    return decorator


def _guarded(task: Task, run):
    """The task body, run only if its execution row can be claimed (PENDING/RETRY -> STARTED).

    Messages sent by the API carry the execution id in a header; other calls of the same
    task (`.delay()`, beat, eager) run as plain Celery tasks.
    """

    @functools.wraps(run)
    def guarded_run(*args, **kwargs):
        execution_id = lifecycle.execution_id_of(task.request)
        if execution_id is not None and not lifecycle.execution_claim(
            execution_id=execution_id, time_limit=task.request.time_limit or task.time_limit
        ):
            if lifecycle.execution_status(execution_id=execution_id) == "REVOKED" and task.request.id:
                task.backend.mark_as_revoked(task.request.id, reason="cancelled", request=task.request)
            # Ignore: no result is stored and no success/failure signal fires for the skipped copy.
            raise Ignore()
        if execution_id is not None and task.request.id:
            # Its SUCCESS row is written with the finish, in one statement (task_api.signals).
            results.hold_success(task.request.id)
        result = run(*args, **kwargs)
        if execution_id is not None:
            # Raised here, the run fails at once as any error would; returned, a NaN or an
            # object would break the result backend and the row after the run had ended.
            lifecycle.check_result(result)
        return result

    return guarded_run


def report_progress(task: Task, percent: float, message: str = "") -> None:
    """Record how far a running task is (0-100 and a message), for its execution and result backend."""
    percent = max(0, min(100, int(percent)))
    request = task.request
    if request.id and not request.is_eager:
        task.update_state(state="PROGRESS", meta={"percent": percent, "message": message})
    execution_id = lifecycle.execution_id_of(request)
    if execution_id is not None:
        lifecycle.execution_progress(execution_id=execution_id, percent=percent, message=message)
