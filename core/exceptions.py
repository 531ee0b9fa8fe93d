"""One place that turns Django and application errors into JSON API responses."""

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule refused the operation; `status_code` says how to answer."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message, *, status_code=None, extra=None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def request_error(exc: SuspiciousOperation) -> exceptions.APIException:
    """What to answer for a request Django refused to read: too big (413) or else malformed (400).

    Django raises these (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, ...) from
    request.body / POST / GET; left alone they would surface as a 500 under the API.
    """
    # Logged where Django logs them, for the same alerts.
    logging.getLogger(f"django.security.{type(exc).__name__}").warning(str(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(
            f"The request body is too large (limit {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
        )
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return exceptions.ParseError(str(exc))
    return exceptions.ParseError("Bad request.")


def request_error_response(exc: SuspiciousOperation) -> JsonResponse:
    error = request_error(exc)
    return JsonResponse({"detail": str(error.detail)}, status=error.status_code)


def exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        exc = request_error(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ApplicationError):
        response = drf_exception_handler(
            exceptions.APIException(exc.message), context
        )
        response.status_code = exc.status_code
        response.data = {"detail": exc.message, **exc.extra}
        return response
    return drf_exception_handler(exc, context)
