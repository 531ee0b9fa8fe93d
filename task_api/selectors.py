import time

from django.db.models import QuerySet

from .models import TaskExecution, TaskSchedule
from .registry import RegisteredTask, registry


def tasks_runnable_by(user) -> list[RegisteredTask]:
    """Registered tasks whose every permission the user holds (two queries, then cached on the user)."""
    return [entry for entry in registry.all() if user.has_perms(entry.permissions)]


def executions_of(user) -> QuerySet[TaskExecution]:
    """The user's own executions, newest first; nothing else is ever visible through the API."""
    return TaskExecution.objects.filter(user=user).order_by("-created_at", "-id")


def execution_wait_until_complete(*, execution: TaskExecution, timeout: float, interval: float = 0.02) -> bool:
    """Long-poll: True once the execution is complete, False when `timeout` passes first.

    One indexed single-row query per `interval`, far cheaper for the web process than a
    client re-sending the whole authenticated request.
    """
    deadline = time.monotonic() + timeout
    finished = TaskExecution.objects.filter(pk=execution.pk, status__in=TaskExecution.FINISHED)
    while time.monotonic() < deadline:
        if finished.exists():
            return True
        time.sleep(interval)
    return finished.exists()


def schedules_of(user) -> QuerySet[TaskSchedule]:
    return (
        TaskSchedule.objects.filter(user=user)
        .select_related("periodic_task__interval", "periodic_task__crontab")
        .order_by("-created_at", "-id")
    )
