"""Reads: comments exist for a user only on live tasks they can see."""

from django.db.models import QuerySet

from accounts.models import User
from core.lookups import id_or_external_id_lookup
from tasks.models import Task
from tasks.selectors import on_visible_tasks, tasks_visible_to

from .models import Comment


def _with_authors(queryset: QuerySet[Comment], with_authors: bool) -> QuerySet[Comment]:
    # `?expand=author`: the author joined into the same query.
    return queryset.select_related("author") if with_authors else queryset


def comments_visible_to(user: User, *, with_authors: bool = False) -> QuerySet[Comment]:
    return _with_authors(on_visible_tasks(Comment.objects.all(), user=user), with_authors)


def comments_of_task(task: Task, *, with_authors: bool = False) -> QuerySet[Comment]:
    """Comments of a task the caller already proved visible, newest first."""
    return _with_authors(Comment.objects.filter(task=task), with_authors).order_by("-created_at", "-id")


def task_visible_to(user: User, task_ref: str) -> Task | None:
    """The live task (by id or external_id) if the user can see it, with what the permission
    checks read; None when it is hidden, missing, or `task_ref` names no task."""
    lookup = id_or_external_id_lookup(task_ref)
    if lookup is None:
        return None
    return tasks_visible_to(user).select_related("department").filter(**lookup).first()
