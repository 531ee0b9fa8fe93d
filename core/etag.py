"""Conditional requests (RFC 9110 §13): strong ETags on detail answers, If-Match and If-None-Match.

The ETag is a hash of the representation itself (the data `retrieve` answers for this
requester and URL, in the negotiated format), not of a row version: a task's detail carries
its latest comments and comment count, a user's its task statistics, and a tag taken from
`updated_at` would not change when those do.
"""

import copy
import hashlib
import json

from django.db import transaction
from django.utils.cache import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder

from .exceptions import PreconditionFailed

# Answers whose body is the detail representation, so they carry its ETag.
DETAIL_ACTIONS = {"retrieve", "update", "partial_update"}


def representation_etag(data, *, variant: str = "") -> str:
    """A strong ETag: the same for equal data, different whenever any part of it changes."""
    body = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{variant}\n{body}".encode()).hexdigest()
    return f'"{digest[:32]}"'  # 128 bits


def etag_matches(header: str, etag, *, weak: bool) -> bool:
    """Whether an If-Match (strong comparison) or If-None-Match (weak) list names `etag`.

    `etag` is a callable giving the current tag, so `*` (any current representation; the
    caller has found the resource) costs nothing. A malformed list names nothing.
    """
    tags = parse_etags(header)
    if tags == ["*"]:
        return True
    current = etag()
    if weak:
        return current.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}
    return not current.startswith("W/") and current in tags


def has_preconditions(request) -> bool:
    return "HTTP_IF_MATCH" in request.META or "HTTP_IF_NONE_MATCH" in request.META


class _NotModified(Exception):
    """If-None-Match matched on a read: answer 304."""


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Apply only if the resource is still at one of these ETags (strong comparison; `*`: any); "
        "otherwise 412 and nothing changes."
    ),
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags the client holds (weak comparison; `*`: any). Matching: 304 on GET, 412 otherwise.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Strong validator of the detail representation; send it back in If-Match / If-None-Match.",
    response=[200, 304],
)
PRECONDITION_FAILED = {
    "description": "If-Match names a version the resource is no longer at (or If-None-Match matched); "
    "nothing was changed.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


class ConditionalAutoSchema(api_settings.DEFAULT_SCHEMA_CLASS):
    """The project's schema class, plus the conditional headers and 304/412 of the mixin."""

    def _conditional_kind(self) -> str | None:
        view = self.view
        if self.method == "GET" and getattr(view, "action", None) == "retrieve":
            return "read"
        if self.method not in SAFE_METHODS and getattr(view, "detail", False):
            return "write"
        return None

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._conditional_kind():
            parameters += [IF_MATCH, IF_NONE_MATCH]
            if getattr(self.view, "action", None) in DETAIL_ACTIONS:
                parameters.append(ETAG_HEADER)
        return parameters

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        kind = self._conditional_kind()
        if kind == "read":
            not_modified = OpenApiResponse(description="Not Modified: If-None-Match matched; no body.")
            bodies["304"] = self._get_response_for_code(not_modified, "304", direction=direction)
        if kind:
            bodies["412"] = copy.deepcopy(PRECONDITION_FAILED)
        return bodies


class ConditionalRequestMixin:
    """For a ModelViewSet: ETag on the detail answers and preconditions on every detail request.

    - GET/HEAD of the detail: `ETag` header; a matching `If-None-Match` answers 304 with no
      body, a failing `If-Match` 412.
    - PUT/PATCH/DELETE and detail actions (POST /{id}/assign/ ...): a failing `If-Match` (or a
      matching `If-None-Match`) answers 412 and changes nothing. The check runs once the object
      is found and its permission checked (404/403 stay as they were), with the row locked
      (SELECT ... FOR UPDATE) in the transaction that then carries the write, so of two writers
      sending the same tag only one gets through. A 200 PUT/PATCH carries the new ETag.
    Requests without these headers run exactly as before: no lock, no transaction, no query.
    `update`/`partial_update` must answer the detail representation (as ModelViewSet does).
    """

    schema = ConditionalAutoSchema()

    def dispatch(self, request, *args, **kwargs):
        # Set once per request: get_object checks only the write this request dispatches (not
        # the forms the browsable API builds for other methods while rendering a GET).
        self._unchecked_write = (
            bool(getattr(self, "detail", False)) and request.method not in SAFE_METHODS and has_preconditions(request)
        )
        if not self._unchecked_write:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
            return response

    def get_object(self):
        obj = super().get_object()
        if not getattr(self, "_unchecked_write", False):
            return obj
        self._unchecked_write = False  # the re-read below and the GET rendering pass through
        if self._needs_current_etag():
            type(obj)._base_manager.select_for_update().filter(pk=obj.pk).values_list("pk").first()
            obj = self.get_object()  # read again under the lock: what the write will change
        self._check_preconditions(self._current_etag, safe=False)
        return obj

    def _needs_current_etag(self) -> bool:
        headers = (self.request.META.get("HTTP_IF_MATCH"), self.request.META.get("HTTP_IF_NONE_MATCH"))
        return any(header is not None and parse_etags(header) != ["*"] for header in headers)

    def _check_preconditions(self, etag, *, safe: bool) -> None:
        """RFC 9110 §13.2.2 order: If-Match, then If-None-Match."""
        meta = self.request.META
        if "HTTP_IF_MATCH" in meta and not etag_matches(meta["HTTP_IF_MATCH"], etag, weak=False):
            raise PreconditionFailed()
        if "HTTP_IF_NONE_MATCH" in meta and etag_matches(meta["HTTP_IF_NONE_MATCH"], etag, weak=True):
            if safe:
                raise _NotModified()
            raise PreconditionFailed()

    def _current_etag(self) -> str:
        """The ETag a GET of this URL would answer now, for this requester."""
        reader = copy.copy(self)
        reader.action = "retrieve"
        # The write's own permission check has passed; reading is the queryset's business.
        reader.check_object_permissions = lambda request, obj: None
        return self._etag_of(reader.retrieve(self.request, *self.args, **self.kwargs).data)

    def _etag_of(self, data) -> str:
        renderer = getattr(self.request, "accepted_renderer", None)
        return representation_etag(data, variant=getattr(renderer, "format", ""))

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            isinstance(response, Response)
            and response.status_code == status.HTTP_200_OK
            and getattr(self, "action", None) in DETAIL_ACTIONS
        ):
            response = self._with_etag(request, response)
        return super().finalize_response(request, response, *args, **kwargs)

    def _with_etag(self, request, response):
        etag = self._etag_of(response.data)
        if request.method in SAFE_METHODS and has_preconditions(request):
            try:
                self._check_preconditions(lambda: etag, safe=True)
            except _NotModified:
                return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
            except PreconditionFailed as exc:
                return self.handle_exception(exc)
        response["ETag"] = etag
        return response
