import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.db import MAX_ID
from core.filters import IdFilter, IsoDateTimeFilter, StrictBooleanFilter

from .models import Task, TaskAssignment
from .selectors import TaskAssignee, overdue_q


class AssigneeField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value).strip().lower()
        if value in ("", "none"):
            return value
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            raise forms.ValidationError("Enter a user id or `none`.")
        return int(value)


@extend_schema_field(OpenApiTypes.STR)
class AssigneeFilter(django_filters.Filter):
    field_class = AssigneeField

    def filter(self, qs, value):
        if value == "":
            return qs
        if value == "none":
            return qs.exclude(Exists(TaskAssignee.objects.filter(task_id=OuterRef("pk"))))
        return qs.filter(Exists(TaskAssignee.objects.filter(task_id=OuterRef("pk"), user_id=value)))


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
    assignee = AssigneeFilter(help_text="A user id, or `none` for tasks without assignees.")
    creator = IdFilter(field_name="creator_id")
    department = IdFilter(field_name="department_id")
    external_id = django_filters.UUIDFilter()
    due_before = IsoDateTimeFilter(field_name="due_date", lookup_expr="lt")
    due_after = IsoDateTimeFilter(field_name="due_date", lookup_expr="gt")
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
