"""The Celery result backend: django-celery-results' database backend over `core.models.StoredTaskResult`.

A task run may hold its SUCCESS row back (`hold_success`), for a write of its own that follows
the run to send in the same statement (the task API's finish): the row is worked out exactly as
the backend stores it, and its upsert is held for the run until `take_held` hands it
over. Whatever is still held when the run ends is stored then (`store_held`), so no result is
lost when the write that should carry it does not happen.
"""

from collections.abc import Iterable

from celery import states
from django_celery_results.backends.database import DatabaseBackend as _DatabaseBackend

from .models import Statement, StoredTaskResult, holding

# {task id: the upserts held for its run}, while a run holds its SUCCESS row (see hold_success). By
# task id, not on the request: a task with its own __call__ runs its body under a copy of the request.
_held: dict[str, list[Statement]] = {}


class DatabaseBackend(_DatabaseBackend):
    TaskModel = StoredTaskResult

    def _store_result(self, task_id, result, status, traceback=None, request=None, using=None):
        held = _held.get(task_id) if status == states.SUCCESS else None
        if held is None:
            return super()._store_result(task_id, result, status, traceback, request=request, using=using)
        token = holding.set(held)
        try:
            return super()._store_result(task_id, result, status, traceback, request=request, using=using)
        finally:
            holding.reset(token)


def hold_success(task_id: str) -> None:
    """Hold the SUCCESS row of the run of `task_id` back instead of storing it, until `take_held`
    (call inside the run; the run's end must take what is held, see task_api.signals)."""
    _held[task_id] = []


def take_held(task_id: str | None) -> list[Statement]:
    """The upserts held for the run of `task_id` (sending them is now the caller's duty); the hold ends."""
    return _held.pop(task_id, None) or []


def store_held(statements: Iterable[Statement]) -> None:
    """Send held upserts on their own (each is one statement, atomic by itself)."""
    for statement in statements:
        statement.send()
