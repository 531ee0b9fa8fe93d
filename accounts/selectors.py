from django.db.models import Count, Q, QuerySet

from tasks.models import Task
from tasks.selectors import overdue_q

from .models import ApiKey, Department, User

STAT_FIELDS = ("total", "todo", "in_progress", "done", "failed", "overdue")


def users_with_task_stats(queryset: QuerySet[User] | None = None) -> QuerySet[User]:
    """Users annotated with `stat_<name>` counts over their live assigned tasks, in one query."""
    queryset = User.objects.all() if queryset is None else queryset
    alive = Q(assigned_tasks__deleted_at__isnull=True)
    S = Task.Status
    return queryset.select_related("department").annotate(
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


def departments_list() -> QuerySet[Department]:
    return Department.objects.select_related("manager")


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)
