"""Reads: comments and attachments exist for a user only on live tasks they can see."""

from django.db.models import QuerySet

from accounts.models import User
from tasks.models import Task
from tasks.selectors import task_visibility_q, tasks_visible_to

from .models import Attachment, Comment


def _on_visible_live_tasks(queryset: QuerySet, user: User) -> QuerySet:
    return queryset.filter(task_visibility_q(user, prefix="task__"), task__deleted_at__isnull=True)


def comments_visible_to(user: User) -> QuerySet[Comment]:
    return _on_visible_live_tasks(Comment.objects.all(), user)


def comments_of_task(task: Task) -> QuerySet[Comment]:
    """Comments of a task the caller already proved visible, newest first."""
    return Comment.objects.filter(task=task).order_by("-created_at", "-id")


def attachments_visible_to(user: User) -> QuerySet[Attachment]:
    # The task and its department come along: deciding who may delete needs them.
    return _on_visible_live_tasks(Attachment.objects.all(), user).select_related("task__department")


def task_visible_to(user: User, task_id: int) -> Task | None:
    """The live task if the user can see it, with what the permission checks read."""
    return tasks_visible_to(user).select_related("department").filter(pk=task_id).first()
