"""Reads: comments exist for a user only on live tasks they can see."""

from django.db.models import QuerySet

from accounts.models import User
from tasks.models import Task
from tasks.selectors import on_visible_tasks, tasks_visible_to

from .models import Comment


def comments_visible_to(user: User) -> QuerySet[Comment]:
    return on_visible_tasks(Comment.objects.all(), user=user)


def comments_of_task(task: Task) -> QuerySet[Comment]:
    """Comments of a task the caller already proved visible, newest first."""
    return Comment.objects.filter(task=task).order_by("-created_at", "-id")


def task_visible_to(user: User, task_id: int) -> Task | None:
    """The live task if the user can see it, with what the permission checks read."""
    return tasks_visible_to(user).select_related("department").filter(pk=task_id).first()
