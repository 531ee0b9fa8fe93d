"""Who may attach and delete files; seeing them is the selectors' business."""

from rest_framework import permissions

from accounts.models import User
from tasks.models import Task
from tasks.permissions import can_manage_task as can_edit_task
from tasks.permissions import is_assignee

from .models import Attachment


def can_attach(user: User, task: Task) -> bool:
    return can_edit_task(user, task) or is_assignee(user, task)


def can_delete_attachment(user: User, attachment: Attachment) -> bool:
    return attachment.uploaded_by_id == user.pk or can_edit_task(user, attachment.task)


class AttachmentPermission(permissions.BasePermission):
    message = "Only the uploader or someone who may edit the task may delete an attachment."

    def has_object_permission(self, request, view, obj: Attachment):
        return request.method in permissions.SAFE_METHODS or can_delete_attachment(request.user, obj)
