from django.db.models import Q, QuerySet

from accounts.models import User

from .models import Task


def task_visibility_q(user: User, prefix: str = "") -> Q:
    """Q over Task (or over a model whose task lives at `prefix`, e.g. "task__").

    CEO, HR and staff see all; a manager sees their department's tasks and those they
    created, assigned or are assigned to; an employee sees what they created or are on.
    """
    if user.sees_everything:
        return Q()
    own = (
        Q(**{f"{prefix}creator": user})
        | Q(**{f"{prefix}assigned_by": user})
        | Q(**{f"{prefix}id__in": Task.assignees.through.objects.filter(user=user).values("task_id")})
    )
    if user.role == User.Role.MANAGER:
        own |= Q(**{f"{prefix}department__manager": user})
        if user.department_id:
            own |= Q(**{f"{prefix}department_id": user.department_id})
    return own


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """Live (not soft-deleted) tasks the user may see; unshaped, for existence checks."""
    return Task.objects.filter(task_visibility_q(user))
