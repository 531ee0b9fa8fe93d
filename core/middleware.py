import logging

from django.http import JsonResponse

logger = logging.getLogger(__name__)


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
            request.path.startswith("/api/")
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
        if request.path.startswith("/api/"):
            logger.exception("Unhandled error on %s", request.path)
            return JsonResponse({"detail": "Internal server error."}, status=500)
        return None
