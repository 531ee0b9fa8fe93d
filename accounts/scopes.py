"""What an API key may do: its scopes and the tasks it may run (SPEC §10).

Checked by `ApiKeyAuthentication` as it accepts a key, so every view gets the check, whatever
permission classes it declares. `read` covers the safe methods; `execute` every other method
on the task API (execute, cancel, schedule create/pause/resume/delete); `write` every other
method anywhere else. A key with `allowed_tasks` may name only those tasks in a task-API call.
"""

from collections.abc import Mapping

from rest_framework.permissions import SAFE_METHODS

from .models import ApiKey

TASK_API_PACKAGE = "task_api"


def is_task_api_view(view) -> bool:
    return type(view).__module__.split(".", 1)[0] == TASK_API_PACKAGE


def scope_needed(request, view) -> str:
    if request.method in SAFE_METHODS:
        return ApiKey.Scope.READ
    if view is not None and is_task_api_view(view):
        return ApiKey.Scope.EXECUTE
    return ApiKey.Scope.WRITE


def _task_named(request) -> str | None:
    data = request.data
    name = data.get("task_name") if isinstance(data, Mapping) else None
    return name if isinstance(name, str) else None


def refusal(api_key: ApiKey, request, view) -> str | None:
    """Why this key may not make this request, or None if it may."""
    scope = scope_needed(request, view)
    if scope not in api_key.scopes:
        return f"This API key lacks the '{scope}' scope."
    if scope == ApiKey.Scope.EXECUTE and api_key.allowed_tasks:
        name = _task_named(request)
        if name is not None and name not in api_key.allowed_tasks:
            return f"This API key may not run the task '{name}'."
    return None
