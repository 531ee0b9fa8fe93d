from collections.abc import Callable

from django.db.models import QuerySet

from .models import ApiKey, Department, User

UserAnnotation = Callable[[QuerySet[User]], QuerySet[User]]

# Filled by the apps above accounts from their AppConfig.ready (tasks adds the task_stats
# counters), so the users list can carry their figures without accounts importing them.
_user_annotations: list[UserAnnotation] = []


def register_user_annotation(annotate: UserAnnotation) -> None:
    """Have `users_list` pass its queryset through `annotate`.

    An app above accounts calls this from its AppConfig.ready to add its own figures to the
    users list and detail (tasks: the `stat_counts` behind `task_stats`). `annotate`
    must keep the list one query: annotations and joins only, no prefetch.
    """
    if annotate not in _user_annotations:
        _user_annotations.append(annotate)


def users_list(queryset: QuerySet[User] | None = None) -> QuerySet[User]:
    """Users shaped for the list and detail answers: the department joined and every
    registered annotation applied, still one query."""
    queryset = User.objects.all() if queryset is None else queryset
    queryset = queryset.select_related("department")
    for annotate in _user_annotations:
        queryset = annotate(queryset)
    return queryset


def departments_list() -> QuerySet[Department]:
    return Department.objects.select_related("manager")


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)
