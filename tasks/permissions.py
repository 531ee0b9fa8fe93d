"""Who may change a task. Who may *see* it is the queryset's job (tasks_visible_to): an
invisible task is a 404 before any of these checks run.

- Managers of the task (creator, CEO/HR/staff, the manager of the task's department) may
  edit every field, assign, unassign, delete and mark done.
- A current assignee who is none of those may change only `status`, mark done and delegate.
- Delegating is for current assignees only, whoever else the requester is.
- Anyone else who can see the task (a manager who assigned it once, a second manager of
  the department who is not its `manager`) reads it and its history, and changes nothing.
"""

from collections.abc import Mapping

from rest_framework import permissions

from accounts.models import User

from .models import Task

ASSIGNEE_EDITABLE_FIELDS = {"status"}


def can_manage_task(user: User, task: Task) -> bool:
    return (
        user.sees_everything
        or task.creator_id == user.pk
        or (task.department is not None and task.department.manager_id == user.pk)
    )


def is_assignee(user: User, task: Task) -> bool:
    """Reads `assignee_ids` set by selectors.task_attach_assignee_ids when present."""
    ids = getattr(task, "assignee_ids", None)
    if ids is None:
        return task.assignees.filter(pk=user.pk).exists()
    return user.pk in ids


class TaskPermission(permissions.BasePermission):
    WORK_ACTIONS = {"mark_done"}
    EDIT_ACTIONS = {"update", "partial_update"}

    def has_object_permission(self, request, view, obj):
        action = view.action
        user = request.user
        if action == "delegate":
            self.message = "Only a current assignee can delegate this task."
            return is_assignee(user, obj)
        if request.method in permissions.SAFE_METHODS or can_manage_task(user, obj):
            return True
        if not is_assignee(user, obj):
            self.message = "Only the task's creator, its department's manager, CEO or HR may change it."
            return False
        if action in self.WORK_ACTIONS:
            return True
        if action in self.EDIT_ACTIONS:
            return self._assignee_may_edit(request)
        self.message = "Assignees may change only the status, mark the task done or delegate it."
        return False

    def _assignee_may_edit(self, request) -> bool:
        if not isinstance(request.data, Mapping):
            return True  # the serializer answers 400 for a body that is not an object
        forbidden = sorted(set(request.data) - ASSIGNEE_EDITABLE_FIELDS)
        if forbidden:
            self.message = f"As an assignee you may change only the status, not: {', '.join(forbidden)}."
            return False
        return True
