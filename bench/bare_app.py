"""The floor the task list is measured against (bench/task_list.py).

The same rows, visibility (task_visibility_q), JWT authentication, ordering, page and
count as GET /api/v1/tasks/, hand-built with `.values()` and a JsonResponse: no DRF view,
filter backends, paginator or serializer.
"""

from django.db.models import F
from django.http import JsonResponse
from django.urls import include, path
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from tasks import selectors

COLUMNS = (
    "id", "external_id", "title", "description", "status", "priority", "due_date", "estimate_hours",
    "completed_at", "is_delegated", "completed_late", "comments_count", "created_at", "updated_at",
    "creator_id", "assigned_by_id", "department_id",
)


def bare_tasks(request):
    try:
        auth = JWTAuthentication().authenticate(request)
    except AuthenticationFailed:
        auth = None
    if auth is None:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    try:
        page_size = max(1, min(int(request.GET.get("page_size", 10)), 100))
    except ValueError:
        page_size = 10
    tasks = selectors.task_list(user=auth[0]).order_by(F("due_date").desc(nulls_last=True), "-id")
    count = tasks.count()
    rows = list(tasks.values(*COLUMNS)[:page_size])
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        for key in ("creator", "assigned_by", "department"):
            row[key] = row.pop(f"{key}_id")
        row["assignees"] = []
    links = selectors.TaskAssignee.objects.filter(task_id__in=by_id).order_by("user_id")
    for task_id, user_id in links.values_list("task_id", "user_id"):
        by_id[task_id]["assignees"].append(user_id)
    return JsonResponse({"count": count, "next": None, "previous": None, "results": rows})


urlpatterns = [
    path("bench/bare-tasks/", bare_tasks),
    path("", include("config.urls")),
]
