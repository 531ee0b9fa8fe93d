from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.urls import browsable_api_urls, page_urls
from config.metrics import metrics_view
from core.views import ApiRootView, HealthView

# What `GET /api/v1/` lists: a name for each top-level resource and the URL name it resolves to.
API_ROOT = {
    "auth/register": "auth-register",
    "auth/login": "auth-login",
    "auth/refresh": "auth-refresh",
    "auth/logout": "auth-logout",
    "auth/me": "auth-me",
    "auth/api-token": "auth-api-token",
    "auth/password/change": "auth-password-change",
    "auth/password/reset": "auth-password-reset",
    "auth/password/reset/confirm": "auth-password-reset-confirm",
    "auth/verify-email": "auth-verify-email",
    "users": "user-list",
    "departments": "department-list",
    "api-keys": "api-key-list",
    "tasks": "task-list",
    "task-assignments": "task-assignment-list",
    "comments": "comment-list",
    "attachments": "attachment-list",
    "notifications": "notification-list",
    "events": "live-events",
    "webhooks": "webhook-list",
    "task-api/available": "task-api-available",
    "task-api/execute": "task-api-execute",
    "task-api/executions": "task-execution-list",
    "task-api/schedules": "task-schedule-list",
    "health": "health",
    "schema": "schema",
    "docs": "swagger-ui",
    "redoc": "redoc",
}

api_v1 = [
    path("", ApiRootView.as_view(resources=API_ROOT), name="api-root"),
    path("health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
    # First of the includes: the task API's execute-and-poll traffic is the busiest, and a path
    # is matched against every pattern of the includes before its own.
    path("task-api/", include("task_api.urls")),
    path("", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("", include("comments.urls")),
    path("", include("attachments.urls")),
    path("", include("notifications.urls")),
    path("", include("live.urls")),
    path("", include("webhooks.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # Prometheus scrapes (METRICS_TOKEN); plain text outside the API and its schema.
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include(browsable_api_urls)),
    # Pages the links in account emails open (verify-email/, reset-password/).
    path("", include(page_urls)),
]
