from django.db.models import QuerySet

from .models import TaskExecution, TaskSchedule
from .registry import RegisteredTask, registry


def tasks_runnable_by(user) -> list[RegisteredTask]:
    """Registered tasks whose every permission the user holds (two queries, then cached on the user)."""
    return [entry for entry in registry.all() if user.has_perms(entry.permissions)]


def executions_of(user) -> QuerySet[TaskExecution]:
    """The user's own executions, newest first; nothing else is ever visible through the API."""
    return TaskExecution.objects.filter(user=user).order_by("-created_at", "-id")


def schedules_of(user) -> QuerySet[TaskSchedule]:
    return (
        TaskSchedule.objects.filter(user=user)
        .select_related("periodic_task__interval", "periodic_task__crontab")
        .order_by("-created_at", "-id")
    )
