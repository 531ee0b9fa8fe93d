import django_filters

from .models import TaskExecution


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskExecution.Status.choices)
    task_name = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = TaskExecution
        fields = ["status", "task_name", "created_after", "created_before"]
