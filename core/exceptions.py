"""The project's errors, and the one handler that turns them (and Django's) into JSON responses.

Services and selectors raise `ApplicationError` (or a subclass), Django's `ValidationError` or
`PermissionDenied`; they never import DRF. Only `exception_handler` knows HTTP.
"""

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
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule refused the operation; `status_code` says how to answer, `extra` joins the body."""

    status_code = 400
    default_message = "The request cannot be served."

    def __init__(self, message=None, *, status_code=None, extra=None):
        self.message = message or self.default_message
        super().__init__(self.message)
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class Forbidden(ApplicationError):
    status_code = 403
    default_message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status_code = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    default_message = "The request conflicts with the current state of the resource."


class PreconditionFailed(ApplicationError):
    status_code = 412
    default_message = (
        "The resource has changed since the version named in If-Match (or matches If-None-Match); "
        "nothing was changed. Fetch it again and retry."
    )


class PayloadTooLarge(ApplicationError):
    status_code = 413
    default_message = "The request body is too large."


class TooManyRequests(ApplicationError):
    """429; `retry_after` (seconds) becomes the Retry-After header."""

    status_code = 429
    default_message = "Request was throttled."

    def __init__(self, message=None, *, retry_after: float | None = None, extra=None):
        super().__init__(message, extra=extra)
        self.retry_after = retry_after


def request_error(exc: SuspiciousOperation) -> ApplicationError:
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
        return ApplicationError(str(exc))
    return ApplicationError("Bad request.")


def request_error_response(exc: SuspiciousOperation) -> JsonResponse:
    error = request_error(exc)
    return JsonResponse({"detail": error.message, **error.extra}, status=error.status_code)


def _as_api_exception(exc: ApplicationError) -> exceptions.APIException:
    if isinstance(exc, TooManyRequests):
        # Throttled words the wait into the detail and sets Retry-After, as DRF's throttles do.
        return exceptions.Throttled(wait=exc.retry_after, detail=exc.message)
    api_exception = exceptions.APIException(exc.message)
    api_exception.status_code = exc.status_code
    return api_exception


def exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        exc = request_error(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, ApplicationError):
        # DRF's handler still builds the response: headers, and the rollback of ATOMIC_REQUESTS.
        api_exception = _as_api_exception(exc)
        response = drf_exception_handler(api_exception, context)
        response.data = {"detail": api_exception.detail, **exc.extra}
        return response
    return drf_exception_handler(exc, context)
