"""Filter fields shared by the apps' FilterSets."""

from datetime import UTC, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .db import MAX_ID
from .lookups import ID_OR_EXTERNAL_ID_SCHEMA, parse_id_or_external_id

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


class IdOrExternalIdField(forms.CharField):
    """An integer id or an `external_id` (canonical UUID); `words` are accepted as themselves
    (lower-cased), e.g. `none`. Anything else is a 400 naming the parameter."""

    def __init__(self, *, words=(), **kwargs):
        self.words = tuple(words)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if value == "":
            return None
        if value.lower() in self.words:
            return value.lower()
        parsed = parse_id_or_external_id(value)
        if parsed is None:
            alternatives = "".join(f" or `{word}`" for word in self.words)
            raise forms.ValidationError(f"Enter an id or an external id (UUID){alternatives}.", code="invalid")
        return parsed


def id_or_external_id_kwargs(relation: str, value) -> dict:
    """Filter kwargs matching the row at `relation` by its id (int) or its external_id (UUID)."""
    return {f"{relation}_id": value} if isinstance(value, int) else {f"{relation}__external_id": value}


@extend_schema_field(ID_OR_EXTERNAL_ID_SCHEMA)
class IdOrExternalIdFilter(django_filters.Filter):
    """The row at `field_name` (a foreign key, e.g. "creator") by its id or its external_id."""

    field_class = IdOrExternalIdField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**id_or_external_id_kwargs(self.field_name, value))


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
