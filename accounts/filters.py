import django_filters

from core.filters import StrictBooleanFilter

from .models import User


class UserFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = User
        fields = ["external_id", "role", "department", "is_active"]
