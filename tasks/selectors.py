from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from comments.models import Comment

from .models import Task, TaskAssignment, TaskStatusHistory

LATEST_COMMENTS = 5
TaskAssignee = Task.assignees.through


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
        | Q(**{f"{prefix}id__in": TaskAssignee.objects.filter(user=user).values("task_id")})
    )
    if user.role == User.Role.MANAGER:
        own |= Q(**{f"{prefix}department__manager": user})
        if user.department_id:
            own |= Q(**{f"{prefix}department_id": user.department_id})
    return own


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """Live (not soft-deleted) tasks the user may see; unshaped, for existence checks."""
    return Task.objects.filter(task_visibility_q(user))


def overdue_q(prefix: str = "", *, now: datetime | None = None) -> Q:
    """Still open past its due date (the expiry job has not turned it `failed` yet).

    The same meaning as the `overdue` counter of a user's task_stats.
    """
    return Q(**{f"{prefix}status__in": Task.OPEN_STATUSES, f"{prefix}due_date__lt": now or timezone.now()})


def _comments_count() -> Subquery:
    # A correlated count per row instead of JOIN + COUNT: joining comments (and, when
    # searching, assignees) multiplies rows and makes the aggregate GROUP BY every column.
    counts = (
        Comment.objects.filter(task_id=OuterRef("pk"))
        .order_by()
        .values("task_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def task_list(*, user: User) -> QuerySet[Task]:
    """Visible tasks shaped for the list: comments_count annotated, nothing else joined.

    Assignee ids are not prefetched here: call `task_attach_assignee_ids` on the page.
    """
    return tasks_visible_to(user).annotate(comments_count=_comments_count())


def _shaped_for_detail(queryset: QuerySet[Task]) -> QuerySet[Task]:
    latest = Comment.objects.only("id", "task_id", "author_id", "content", "created_at").order_by(
        "-created_at", "-id"
    )[:LATEST_COMMENTS]
    return queryset.annotate(comments_count=_comments_count()).prefetch_related(
        Prefetch("comments", queryset=latest, to_attr="latest_comments")
    )


def task_detail(*, user: User) -> QuerySet[Task]:
    """Visible tasks shaped for the detail answer (latest comments in one extra query)."""
    return _shaped_for_detail(tasks_visible_to(user))


def task_for_response(*, task_id: int) -> Task:
    """A task just written, shaped for the detail answer.

    Not filtered by visibility: the writer was allowed to change it, even when the change
    (a new department, a delegation) means they no longer see it.
    """
    task = _shaped_for_detail(Task.objects.filter(pk=task_id)).get()
    task_attach_assignee_ids(tasks=[task])
    return task


def task_attach_assignee_ids(*, tasks: Iterable[Task]) -> None:
    """Set `assignee_ids` on each task from one query over the M2M table (no User rows)."""
    tasks = list(tasks)
    if not tasks:
        return
    ids_by_task = defaultdict(list)
    rows = (
        TaskAssignee.objects.filter(task_id__in=[task.pk for task in tasks])
        .order_by("user_id")
        .values_list("task_id", "user_id")
    )
    for task_id, user_id in rows:
        ids_by_task[task_id].append(user_id)
    for task in tasks:
        task.assignee_ids = ids_by_task.get(task.pk, [])


def task_history(*, task: Task) -> list[dict]:
    """Status changes and assignment records of a task, merged oldest first."""
    statuses = [
        {
            "type": "status",
            "id": row.id,
            "from_status": row.from_status,
            "to_status": row.to_status,
            "changed_by": row.changed_by_id,
            "created_at": row.created_at,
        }
        for row in TaskStatusHistory.objects.filter(task=task)
    ]
    assignments = [
        {
            "type": "assignment",
            "id": row.id,
            "action": row.action,
            "assigned_to": row.assigned_to_id,
            "assigned_by": row.assigned_by_id,
            "created_at": row.created_at,
        }
        for row in TaskAssignment.objects.filter(task=task)
    ]
    # A task's creation writes its first status row before its first assignments.
    order = {"status": 0, "assignment": 1}
    return sorted(statuses + assignments, key=lambda i: (i["created_at"], order[i["type"]], i["id"]))


def task_assignments_visible_to(user: User) -> QuerySet[TaskAssignment]:
    """Assignment audit rows of live tasks: all for CEO/HR/staff, a manager's department
    (and their own rows) for managers, rows naming the user for everyone else."""
    rows = TaskAssignment.objects.filter(task__deleted_at__isnull=True)
    if user.sees_everything:
        return rows
    own = Q(assigned_to=user) | Q(assigned_by=user)
    if user.role == User.Role.MANAGER:
        own |= Q(task__department__manager=user)
        if user.department_id:
            own |= Q(task__department_id=user.department_id)
    return rows.filter(own)
