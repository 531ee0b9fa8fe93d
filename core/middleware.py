import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.urls import is_valid_path
from rest_framework.exceptions import ValidationError

from .exceptions import request_error_response
from .logging import REQUEST_ID_HEADER, request_id_from, reset_request_id, set_request_id
from .parsers import NUL, form_check

logger = logging.getLogger(__name__)


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


class RequestIdMiddleware:
    """Give every request an id (the client's `X-Request-ID` when well-formed) and answer it back.

    Outermost, so every response carries it, the JSON errors below included. While the
    request runs the id is in core.logging's contextvar: log lines carry it, and so do the
    Celery tasks the request enqueues (config/celery.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class JsonErrorsMiddleware:
    """Under /api/ every error is JSON: Django's HTML 4xx/5xx pages and tracebacks never leak.

    DRF views already answer JSON; this covers what happens outside them (unknown URLs,
    oversized bodies rejected by Django, unexpected exceptions, DEBUG technical pages).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            is_api(request)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            detail = "Not found." if response.status_code == 404 else (
                response.reason_phrase or "Request failed."
            )
            if response.status_code >= 500:
                detail = "Internal server error."
            return JsonResponse({"detail": detail}, status=response.status_code)
        return response

    def process_exception(self, request, exception):
        if not is_api(request):
            return None
        if isinstance(exception, SuspiciousOperation):
            # A request Django refused to read (too big, too many fields): the client's fault.
            return request_error_response(exception)
        logger.exception("Unhandled error on %s", request.path)
        return JsonResponse({"detail": "Internal server error."}, status=500)


class ApiTrailingSlashMiddleware:
    """Serve an /api/ path missing its trailing slash as the path with it, for every method.

    CommonMiddleware's APPEND_SLASH answers such a path with a redirect, which loses a POST
    body (and under DEBUG raises for POST, PUT, PATCH and DELETE). Goes before it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if is_api(request) and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        return self.get_response(request)


class RequestBoundsMiddleware:
    """Refuse, before any work, /api/ requests whose size or characters cannot be served.

    - a declared body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 (multipart bodies may
      also carry a file of up to ATTACHMENT_MAX_BYTES; the upload view checks that cap);
    - a NUL character in a query parameter (400 naming it) or a header (400): PostgreSQL
      refuses NUL in any string, and a token or session key lookup would be a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):
            refusal = too_large(request) or nul_in_query(request) or nul_in_headers(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)


def too_large(request) -> JsonResponse | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return None
    if request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
        limit += settings.ATTACHMENT_MAX_BYTES
    if length > limit:
        return JsonResponse({"detail": f"The request body is too large (limit {limit} bytes)."}, status=413)
    return None


def nul_in_query(request) -> JsonResponse | None:
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and NUL not in query:
        return None
    try:
        params = request.GET
    except SuspiciousOperation as exc:  # too many parameters
        return request_error_response(exc)
    try:
        form_check(params)
    except ValidationError as exc:
        return JsonResponse(exc.detail, status=400)
    return None


def nul_in_headers(request) -> JsonResponse | None:
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            header = key[5:].replace("_", "-").title()
            return JsonResponse({"detail": f"NUL characters are not allowed in the {header} header."}, status=400)
    return None
