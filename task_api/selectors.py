import time

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


def execution_wait_until_complete(
    *, execution: TaskExecution, timeout: float, interval: float = 0.02
) -> TaskExecution | None:
    """Long-poll: the finished execution row, or None when `timeout` passes first.

    With Redis the request sleeps until the worker announces the finish (re-checking the
    row at least once a second); without it, one indexed single-row query per `interval`.
    Either is far cheaper for the web process than a client re-sending the request.
    """
    deadline = time.monotonic() + timeout
    finished = TaskExecution.objects.filter(pk=execution.pk, status__in=TaskExecution.FINISHED)
    with events.finish_listener(execution.pk) as listener:
        while True:
            row = finished.first()
            remaining = deadline - time.monotonic()
            if row is not None or remaining <= 0:
                return row
            if listener is not None:
                listener.wait(min(remaining, 1.0))
            else:
                time.sleep(min(interval, remaining))


def schedules_of(user) -> QuerySet[TaskSchedule]:
    return (
        TaskSchedule.objects.filter(user=user)
        .select_related("periodic_task__interval", "periodic_task__crontab")
        .order_by("-created_at", "-id")
    )
