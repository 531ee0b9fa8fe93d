import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def _database_ok():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


def _broker_ok():
    with current_app.connection_for_write(
        url=settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        return True


def _cache_ok():
    cache.set("health:probe", "ok", 10)
    return cache.get("health:probe") == "ok"


CHECKS = {"database": _database_ok, "broker": _broker_ok, "cache": _cache_ok}


def run_checks():
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = bool(check())
        except Exception:  # a health probe reports failures, it never raises them
            logger.warning("health check %s failed", name, exc_info=True)
            results[name] = False
    return results


# The same body either way; a 503 says "degraded" and names what is `failing`.
HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded"]),
        "timestamp": serializers.DateTimeField(),
        "components": serializers.DictField(child=serializers.BooleanField()),
        "failing": serializers.ListField(child=serializers.CharField(), required=False),
        "info": serializers.DictField(child=serializers.CharField()),
    },
)


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HEALTH, 503: HEALTH})
    def get(self, request):
        components = run_checks()
        failing = [name for name, ok in components.items() if not ok]
        body = {
            "status": "degraded" if failing else "ok",
            "timestamp": timezone.now(),
            "components": components,
            "info": {"version": settings.APP_VERSION, "environment": settings.DJANGO_ENV},
        }
        if failing:
            body["failing"] = failing
        return Response(body, status=503 if failing else 200)


class ApiRootView(APIView):
    """`GET /api/v1/`: the API's top-level resources and their URLs, to discover it from.

    `resources` maps a name to a URL name; config/urls.py, which wires the apps, fills it.
    """

    resources: dict[str, str] = {}

    @extend_schema(
        responses={
            200: OpenApiResponse(
                response={"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
                description="Top-level resources by name, each with its absolute URL.",
            )
        },
    )
    def get(self, request):
        return Response({name: reverse(url_name, request=request) for name, url_name in self.resources.items()})
