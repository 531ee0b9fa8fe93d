"""Celery signals keep each execution row current; tasks run outside the API are ignored at no cost."""

from celery.signals import task_failure, task_postrun, task_retry, task_revoked, task_success

from core import results

from .registry import registry
from .services import lifecycle

# Only messages sent by the API carry the execution header, so other tasks cost no query.
_execution_id = lifecycle.execution_id_of


@task_success.connect
def on_task_success(sender=None, result=None, **kwargs):
    request = getattr(sender, "request", None)
    execution_id = _execution_id(request)
    if execution_id:
        # The Celery result row the guard had held back goes out with the finish.
        lifecycle.execution_succeeded(execution_id=execution_id, result=result, along=results.take_held(request.id))


@task_postrun.connect
def store_results_still_held(sender=None, task_id=None, **kwargs):
    """A result row held back for a finish that never took it (a receiver failed first) is stored now."""
    results.store_held(results.take_held(task_id))


@task_failure.connect
def on_task_failure(sender=None, exception=None, einfo=None, **kwargs):
    execution_id = _execution_id(getattr(sender, "request", None))
    if execution_id:
        lifecycle.execution_failed(
            execution_id=execution_id,
            exception=exception,
            traceback=einfo.traceback if einfo is not None else repr(exception),
        )


@task_retry.connect
def on_task_retry(sender=None, request=None, reason=None, **kwargs):
    execution_id = _execution_id(request)
    if execution_id:
        lifecycle.execution_retrying(execution_id=execution_id, retries=(request.retries or 0) + 1, reason=str(reason))


@task_revoked.connect
def on_task_revoked(sender=None, request=None, **kwargs):
    # `request` here is the worker's message request, without our header: match by id,
    # and only for registered tasks.
    if sender is not None and sender.name in registry and request is not None:
        lifecycle.execution_revoked(celery_task_id=request.id)
