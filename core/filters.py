"""Filter fields shared by the apps' FilterSets."""

from datetime import UTC, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .db import MAX_ID

# No time zone has used an offset beyond ±14:00; Python accepts up to ±23:59 and PostgreSQL
# only ±15:59, so a larger one would reach the database as a 500.
MAX_UTC_OFFSET = timedelta(hours=14)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC.

    An offset beyond ±14:00, or a date at the edge of the calendar (year 1 or 9999) that
    leaves it once moved to UTC, is a 400 naming the parameter instead of a 500 from the query.
    """

    default_error_messages = {
        "offset": "Enter a UTC offset between -14:00 and +14:00.",
        "overflow": "Enter a date-time between years 1 and 9999 in UTC.",
    }

    def to_python(self, value):
        result = super().to_python(value)
        if result is None or result.tzinfo is None:
            return result
        if abs(result.utcoffset()) > MAX_UTC_OFFSET:
            raise forms.ValidationError(self.error_messages["offset"], code="offset")
        try:
            return result.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError(self.error_messages["overflow"], code="overflow") from exc


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IdFilter(django_filters.NumberFilter):
    """An integer id: "1.5" or "abc" is a 400, not a silently rounded match; one past the
    column's range is a 400 too, not an overflow in the database driver."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.CharField):
    """true/false (or 1/0); anything else is a 400 rather than silently no filter."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        value = super().to_python(value).strip().lower()
        if value == "":
            return None
        if value not in self.VALUES:
            raise forms.ValidationError("Enter true or false.")
        return self.VALUES[value]


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter reads an unknown value as "no filter"; this refuses it."""

    field_class = StrictBooleanField
