import django_filters
from django.db.models import Exists, F, OuterRef
from drf_spectacular.utils import extend_schema_field

from accounts.models import User
from core.filters import (
    IdFilter,
    IdOrExternalIdFilter,
    IsoDateTimeFilter,
    StrictBooleanFilter,
    id_or_external_id_kwargs,
)
from core.lookups import ID_OR_EXTERNAL_ID_SCHEMA

from .models import Task, TaskAssignment
from .selectors import TaskAssignee, among_own_tasks, id_in, overdue_q, task_search_q


@extend_schema_field({"oneOf": [*ID_OR_EXTERNAL_ID_SCHEMA["oneOf"], {"type": "string", "enum": ["none"]}]})
class AssigneeFilter(IdOrExternalIdFilter):
    """A user's id or external_id, or `none` for tasks nobody is assigned to."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, words=("none",), **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if value == "none":
            return qs.exclude(Exists(TaskAssignee.objects.filter(task_id=OuterRef("pk"))))
        user = id_or_external_id_kwargs("user", value)
        # The person's task ids first (an index-only read), then those tasks by primary key:
        # a correlated EXISTS would test every visible task in turn.
        ids = TaskAssignee.objects.filter(**user, task_live=True).values("task_id")
        viewer = getattr(getattr(self.parent, "request", None), "user", None)
        if viewer is not None and viewer.is_authenticated:
            ids = among_own_tasks(ids, viewer)
        return qs.filter(id_in("id", ids))


class TaskOrderingFilter(django_filters.OrderingFilter):
    """Defaults to `-due_date`; tasks without a due date come last either way, and the id
    breaks ties so pages never overlap."""

    def filter(self, qs, value):
        ordering = []
        # Empty items ("?ordering=," or ",,") name no field: left alone, F("") is a 500.
        for param in [param for param in value or [] if param] or ["-due_date"]:
            field = self.get_ordering_value(param)
            descending = field.startswith("-")
            expression = F(field.lstrip("-"))
            ordering.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
        return qs.order_by(*ordering, "-id")


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Task.Priority.choices)
    assignee = AssigneeFilter(help_text="A user's id or external_id (UUID), or `none` for tasks without assignees.")
    creator = IdOrExternalIdFilter(field_name="creator", help_text="A user's id or external_id (UUID).")
    department = IdFilter(field_name="department_id")
    external_id = django_filters.UUIDFilter()
    due_before = IsoDateTimeFilter(field_name="due_date", lookup_expr="lt")
    due_after = IsoDateTimeFilter(field_name="due_date", lookup_expr="gt")
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Words, each found in the title, the description or an assignee's name (case-insensitive).",
    )
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        help_text="true: still open past the due date (not yet expired); false: the others.",
    )
    ordering = TaskOrderingFilter(
        fields=(
            ("due_date", "due_date"),
            ("priority_rank", "priority"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        )
    )

    class Meta:
        model = Task
        fields = []

    def get_form_class(self):
        # django-filter builds a new form class (and a form field per filter) on every
        # request; these filters never vary per request, so build it once.
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def filter_search(self, queryset, name, value):
        # A manager's matches are counted in parts like the rest of their lists
        # (tasks.selectors.ManagerCountParts): the department part is read from
        # task_dept_search_trgm_idx, department and words together. An employee sees the few
        # tasks they are on: those are tested, and the trigram index is left alone.
        user = getattr(self.request, "user", None)
        narrow = user is not None and not user.sees_everything and user.role != User.Role.MANAGER
        return queryset.filter(task_search_q(value, indexed=not narrow))

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())


class TaskAssignmentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id")
    assigned_to = IdFilter(field_name="assigned_to_id")
    assigned_by = IdFilter(field_name="assigned_by_id")
    action = django_filters.ChoiceFilter(choices=TaskAssignment.Action.choices)

    class Meta:
        model = TaskAssignment
        fields = []
