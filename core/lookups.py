"""Addressing a row by its integer id or by its `external_id` (a UUID), in URLs and in filters."""

import re
import uuid

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.plumbing import get_view_model
from drf_spectacular.utils import OpenApiParameter

from .db import MAX_ID
from .etag import ConditionalAutoSchema

# Only the canonical 8-4-4-4-12 spelling: Python's UUID() also reads braces, `urn:uuid:` and
# 32 bare hex digits, which the schema (format: uuid) does not promise.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# ASCII digits only: str.isdigit() is true for "²", which int() refuses.
_ID = re.compile(r"[0-9]{1,19}")

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
EXTERNAL_ID_SCHEMA = {"type": "string", "format": "uuid"}
ID_OR_EXTERNAL_ID_SCHEMA = {"oneOf": [ID_SCHEMA, EXTERNAL_ID_SCHEMA]}


def parse_id_or_external_id(value: str) -> int | uuid.UUID | None:
    """An id (1..MAX_ID) as int, a canonical UUID as UUID, anything else None."""
    if _ID.fullmatch(value):
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    if _UUID.fullmatch(value):
        return uuid.UUID(value)
    return None


def id_or_external_id_lookup(value: str, *, external_field: str = "external_id") -> dict | None:
    """Filter kwargs that find the row `value` names (`{"pk": 7}` or `{"external_id": UUID}`)."""
    parsed = parse_id_or_external_id(value)
    if parsed is None:
        return None
    return {"pk": parsed} if isinstance(parsed, int) else {external_field: parsed}


def id_or_external_id_parameter(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        ID_OR_EXTERNAL_ID_SCHEMA,
        OpenApiParameter.PATH,
        description=f"The {what}'s integer `id` or its `external_id` (UUID).",
    )


class IdOrExternalIdAutoSchema(ConditionalAutoSchema):
    """ConditionalAutoSchema, with the detail path parameter documented as an id or a UUID.

    Set it as the `schema` of a viewset using IdOrExternalIdLookupMixin.
    """

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if "{id}" in self.path:
            what = get_view_model(self.view)._meta.verbose_name
            parameters.append(id_or_external_id_parameter("id", what))
        return parameters


class IdOrExternalIdLookupMixin:
    """For a viewset: `/{id}/` and every detail action under it also take the `external_id`.

    A value that is neither an id nor a UUID, or that names nothing the queryset holds, is a 404.
    Put it after ConditionalRequestMixin (whose get_object wraps this one) and set
    `schema = IdOrExternalIdAutoSchema()` on the viewset.
    """

    external_id_field = "external_id"

    def get_object(self):
        lookup = id_or_external_id_lookup(
            str(self.kwargs[self.lookup_url_kwarg or self.lookup_field]), external_field=self.external_id_field
        )
        if lookup is None:
            raise Http404
        obj = get_object_or_404(self.filter_queryset(self.get_queryset()), **lookup)
        self.check_object_permissions(self.request, obj)
        return obj
