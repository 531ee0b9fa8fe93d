"""Writes for comments."""

from django.db import transaction

from accounts.models import User
from tasks.models import Task

from .events import comment_created
from .models import Comment


@transaction.atomic
def comment_create(*, task: Task, author: User, content: str) -> Comment:
    comment = Comment.objects.create(task=task, author=author, content=content)
    comment_created.send(sender=Comment, comment=comment)
    return comment


@transaction.atomic
def comment_update(*, comment: Comment, content: str) -> Comment:
    comment.content = content
    comment.save(update_fields=["content", "updated_at"])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment) -> None:
    comment.delete()
