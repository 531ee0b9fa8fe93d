"""Reads: attachments exist for a user only on live tasks they can see."""

from django.db.models import QuerySet

from accounts.models import User
from tasks.selectors import on_visible_tasks

from .models import Attachment


def attachments_visible_to(user: User) -> QuerySet[Attachment]:
    # The task and its department come along: deciding who may delete needs them.
    return on_visible_tasks(Attachment.objects.all(), user=user).select_related("task__department")
