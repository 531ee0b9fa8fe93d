"""Who may change a task. Who may *see* it is the queryset's job (tasks_visible_to): an
invisible task is a 404 before any of these checks run.

- Managers of the task (creator, CEO/HR/staff, any manager of the task's department: a
  `manager` whose department it is or the department's designated manager, and the
  manager who assigned it: the task's `assigned_by` while that user is a `manager`) may
  edit every field, assign, unassign, delete and mark done.
- A current assignee who is none of those may change only `status`, mark done and delegate.
- Delegating is for current assignees only, whoever else the requester is.
- Anyone else who can see the task (an employee who assigned it) reads it and its history,
  and changes nothing.

Every check reads the task row, its department row (`select_related`) and the requester: no
query of its own.
"""

from collections.abc import Collection, Mapping

from rest_framework import permissions

from accounts.models import User

from .models import Task

ASSIGNEE_EDITABLE_FIELDS = {"status"}


def can_manage_task(user: User, task: Task) -> bool:
    """SPEC §3's managers of a task. "The manager who assigned it" is `task.assigned_by` (the
    latest assigner, the same person `tasks_visible_to` lets see it), not every manager who
    ever made an assignment record: one who cannot see the task cannot edit it either."""
    if user.sees_everything or task.creator_id == user.pk:
        return True
    if task.department_id is not None and task.department.manager_id == user.pk:
        return True
    if user.role != User.Role.MANAGER:
        return False
    in_department = task.department_id is not None and task.department_id == user.department_id
    return in_department or task.assigned_by_id == user.pk


def is_assignee(user: User, task: Task) -> bool:
    """Reads `assignee_ids` set by selectors.task_attach_assignee_ids when present."""
    ids = getattr(task, "assignee_ids", None)
    if ids is None:
        return task.assignees.filter(pk=user.pk).exists()
    return user.pk in ids


def may_edit(user: User, task: Task, fields: Collection[str]) -> bool:
    """Whether a PATCH of `fields` is the user's to make: any field for the task's managers,
    only the status for an assignee who is not one of them."""
    if can_manage_task(user, task):
        return True
    return is_assignee(user, task) and set(fields) <= ASSIGNEE_EDITABLE_FIELDS


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
            self.message = (
                "Only the task's creator, a manager of its department, the manager who assigned it, "
                "CEO or HR may change it."
            )
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
