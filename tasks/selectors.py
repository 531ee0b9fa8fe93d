from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User

from .models import Task, TaskAssignment, TaskStatusHistory

LATEST_COMMENTS = 5
TaskAssignee = Task.assignees.through


def task_visibility_q(user: User, prefix: str = "", *, involvement: Q | None = None) -> Q:
    """Q over Task (or over a model whose task lives at `prefix`, e.g. "task__").

    The one statement of who sees which task: CEO, HR and staff see all; a manager sees
    their department's tasks and those they created, assigned or are assigned to; an
    employee sees what they created or are on. `involvement` replaces "created, assigned or
    are assigned to" for rows that name people themselves (assignment audit rows).
    """
    if user.sees_everything:
        return Q()
    own = involvement if involvement is not None else (
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


def on_visible_tasks(
    queryset: QuerySet, *, user: User, prefix: str = "task__", involvement: Q | None = None
) -> QuerySet:
    """Rows of a model hanging off a task (comments, attachments, assignment records), kept
    only where that task is live and `task_visibility_q` lets the user see it."""
    return queryset.filter(
        task_visibility_q(user, prefix, involvement=involvement), **{f"{prefix}deleted_at__isnull": True}
    )


def overdue_q(prefix: str = "", *, now: datetime | None = None) -> Q:
    """Still open past its due date (the expiry job has not turned it `failed` yet).

    The same meaning as the `overdue` counter of a user's task_stats.
    """
    return Q(**{f"{prefix}status__in": Task.OPEN_STATUSES, f"{prefix}due_date__lt": now or timezone.now()})


def users_with_task_stats(queryset: QuerySet[User]) -> QuerySet[User]:
    """Users annotated with `stat_<name>` counts over their live assigned tasks, in the same query.

    Registered with accounts.selectors.register_user_annotation (TasksConfig.ready): the users
    list and detail answer them as `task_stats`.
    """
    alive = Q(assigned_tasks__deleted_at__isnull=True)
    S = Task.Status
    return queryset.annotate(
        stat_total=Count("assigned_tasks", filter=alive),
        stat_todo=Count("assigned_tasks", filter=alive & Q(assigned_tasks__status=S.TODO)),
        stat_in_progress=Count(
            "assigned_tasks", filter=alive & Q(assigned_tasks__status=S.IN_PROGRESS)
        ),
        stat_done=Count("assigned_tasks", filter=alive & Q(assigned_tasks__status=S.DONE)),
        stat_failed=Count("assigned_tasks", filter=alive & Q(assigned_tasks__status=S.FAILED)),
        stat_overdue=Count(
            "assigned_tasks",
            filter=alive & overdue_q("assigned_tasks__"),
        ),
    )


def _comment_model():
    # Comments sit above tasks: their model is reached through the relation it declares.
    return Task._meta.get_field("comments").related_model


def _comments_count() -> Subquery:
    # A correlated count per row instead of JOIN + COUNT: joining comments (and, when
    # searching, assignees) multiplies rows and makes the aggregate GROUP BY every column.
    counts = (
        _comment_model().objects.filter(task_id=OuterRef("pk"))
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
    latest = _comment_model().objects.only("id", "task_id", "author_id", "content", "created_at").order_by(
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
    return on_visible_tasks(
        TaskAssignment.objects.all(), user=user, involvement=Q(assigned_to=user) | Q(assigned_by=user)
    )


def task_assignee_ids(*, task_ids: Iterable[int]) -> QuerySet:
    """The user ids assigned to any of the tasks, as a subquery (`id__in=`), for audiences."""
    return TaskAssignee.objects.filter(task_id__in=task_ids).values("user_id")


def task_audience(*, task_ids: Iterable[int], with_creators: bool) -> set[tuple[int, int]]:
    """(task_id, user_id) for the active assignees (and creators) of many tasks, in one query.

    Soft-deleted tasks are not filtered out: callers pass ids they have already chosen.
    """
    task_ids = list(task_ids)
    pairs = (
        TaskAssignee.objects.filter(task_id__in=task_ids, user__is_active=True)
        .order_by()
        .values_list("task_id", "user_id")
    )
    if with_creators:
        creators = (
            Task.all_objects.filter(id__in=task_ids, creator__is_active=True)
            .order_by()
            .values_list("id", "creator_id")
        )
        pairs = pairs.union(creators)
    return set(pairs)
