import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack

from django.db.models import QuerySet

from . import events
from .models import TaskExecution, TaskSchedule
from .registry import RegisteredTask, registry


def tasks_runnable_by(user) -> list[RegisteredTask]:
    """Registered tasks whose every permission the user holds (two queries, then cached on the user)."""
    return [entry for entry in registry.all() if user.has_perms(entry.permissions)]


def executions_of(user) -> QuerySet[TaskExecution]:
    """The user's own executions, newest first; nothing else is ever visible through the API."""
    return TaskExecution.objects.filter(user=user).order_by("-created_at", "-id")


# A waiter re-reads the row at least this often even when no announcement comes.
RECHECK_SECONDS = 1.0


def execution_wait_until_complete(
    *,
    fetch: Callable[[], TaskExecution],
    execution_id,
    timeout: float,
    interval: float = 0.02,
    before_waiting: Callable[[], AbstractContextManager] | None = None,
) -> TaskExecution:
    """Long-poll: `fetch()` (the execution row) once it is complete, or as it is when `timeout` passes.

    With Redis the request sleeps until the worker announces the finish (re-checking the
    row at least once a second); without it, one indexed single-row query per `interval`.
    Either is far cheaper for the web process than a client re-sending the request.
    `before_waiting()` (the long-poll caps) is entered only if the first read finds the
    run unfinished, and held while the request waits; what it raises ends the request.
    """
    deadline = time.monotonic() + timeout
    # Listening starts before the first read, so a finish between the two is not missed.
    with events.finish_listener(execution_id, poll_interval=interval) as listener:
        return _wait(fetch, listener, deadline, interval, before_waiting)


def execution_submit_and_wait(
    *,
    submit: Callable[[uuid.UUID], tuple[TaskExecution, bool]],
    fetch: Callable[[object], TaskExecution],
    timeout: float,
    interval: float = 0.02,
) -> tuple[TaskExecution, bool]:
    """`submit(execution_id)` -> (execution, created), then the long-poll of that execution.

    The listener for the new execution's id is registered before `submit` sends its message,
    so no announcement can be missed, and a new execution is unfinished when `submit`
    returns: the row is read only once the finish is announced (or at the once-a-second
    re-check, or the timeout). An idempotent repeat (another id) is waited for as
    `execution_wait_until_complete` does. `fetch(pk)` reads the row.
    """
    deadline = time.monotonic() + timeout
    execution_id = uuid.uuid4()
    with events.finish_listener(execution_id, poll_interval=interval) as listener:
        execution, created = submit(execution_id)
        if created and execution.pk == execution_id:
            return _wait(lambda: fetch(execution_id), listener, deadline, interval, first=execution), True
    remaining = max(0.0, deadline - time.monotonic())
    pk = execution.pk
    return execution_wait_until_complete(fetch=lambda: fetch(pk), execution_id=pk, timeout=remaining), created


def _wait(fetch, listener, deadline, interval, before_waiting=None, first=None) -> TaskExecution:
    """Read the row until it is complete or `deadline` passes; `first`: a row already read.

    A finish announced with the row's FINISH_FIELDS completes the row already read: those
    are all a finish changes of what the API shows, as the finishing UPDATE answered them.
    """
    execution = first
    with ExitStack() as held:
        while True:
            if execution is None:
                execution = fetch()
            remaining = deadline - time.monotonic()
            if execution.is_complete or remaining <= 0:
                return execution
            if before_waiting is not None:
                held.enter_context(before_waiting())
                before_waiting = None
            if listener is not None:
                listener.wait(min(remaining, RECHECK_SECONDS))
                shown = listener.finished()
                if shown is not None:
                    for name, value in shown.items():
                        setattr(execution, name, value)
                    return execution
            else:
                time.sleep(min(interval, remaining))
            execution = None


def schedules_of(user) -> QuerySet[TaskSchedule]:
    return (
        TaskSchedule.objects.filter(user=user)
        .select_related("periodic_task__interval", "periodic_task__crontab")
        .order_by("-created_at", "-id")
    )
