import django_filters

from core.filters import IsoDateTimeFilter

from .models import TaskExecution


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskExecution.Status.choices)
    task_name = django_filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = TaskExecution
        fields = ["status", "task_name", "created_after", "created_before"]
