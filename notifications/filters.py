import django_filters

from .models import Notification

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


class NotificationFilter(django_filters.FilterSet):
    # A choice rather than BooleanFilter, which silently ignores a value it cannot parse.
    unread = django_filters.ChoiceFilter(
        method="filter_unread",
        choices=[(value, value) for value in TRUE + FALSE],
        label="true: only unread; false: only read",
    )

    class Meta:
        model = Notification
        fields = ["unread", "kind", "task"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value.lower() in TRUE)
