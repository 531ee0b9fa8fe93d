import time
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
    with events.finish_listener(execution_id, poll_interval=interval) as listener, ExitStack() as held:
        while True:
            execution = fetch()
            remaining = deadline - time.monotonic()
            if execution.is_complete or remaining <= 0:
                return execution
            if before_waiting is not None:
                held.enter_context(before_waiting())
                before_waiting = None
            if listener is not None:
                listener.wait(min(remaining, RECHECK_SECONDS))
            else:
                time.sleep(min(interval, remaining))


def schedules_of(user) -> QuerySet[TaskSchedule]:
    return (
        TaskSchedule.objects.filter(user=user)
        .select_related("periodic_task__interval", "periodic_task__crontab")
        .order_by("-created_at", "-id")
    )
