"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery, Task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from core.broker import use_for_redis_urls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
use_for_redis_urls()


def drop_connections_cut_off_mid_query() -> None:
    """Close database connections still busy with a query the task was interrupted in.

    A time limit (or any exception raised by a signal handler) can strike while psycopg
    waits for a result; the connection then refuses every further command.
    """
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        info = getattr(connection.connection, "info", None)  # psycopg only
        if info is not None and info.transaction_status.name == "ACTIVE":
            connection.close()


class ProjectTask(Task):
    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except BaseException:
            # Before Celery stores the failure (and the task API its row) through that connection.
            drop_connections_cut_off_mid_query()
            raise


app = Celery("taskhub", task_cls=ProjectTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
# Job modules of every installed app; keep in step with task_api.apps, which does the same for web processes.
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="reports")


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, **kwargs):
    """Treat each task like a request: drop connections past CONN_MAX_AGE or left broken.

    With CONN_HEALTH_CHECKS this also has the next query check the connection first, so a
    connection that failed in one task is checked before the next one uses it.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@setup_logging.connect
def configure_logging(loglevel=None, **kwargs):
    """Worker and beat log through Django's LOGGING (LOG_FORMAT, request ids), not Celery's own setup."""
    import logging.config

    from django.conf import settings

    config = {**settings.LOGGING, "root": {**settings.LOGGING["root"]}}
    if loglevel:
        config["root"]["level"] = loglevel
    logging.config.dictConfig(config)


# Request ids of the tasks running in this worker process, by task id (see set_task_request_id).
_request_id_tokens = {}


@before_task_publish.connect
def send_request_id(headers=None, **kwargs):
    """A task enqueued while a request is served carries that request's id in its headers."""
    from core.logging import current_request_id

    request_id = current_request_id()
    if request_id and headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id


@task_prerun.connect
def set_task_request_id(task_id=None, task=None, **kwargs):
    """While the task runs, its log lines carry the id of the request that caused it."""
    request = getattr(task, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return  # an eager task runs inside the request, whose id is already set
    from core.logging import set_request_id

    _request_id_tokens[task_id] = set_request_id(getattr(request, "request_id", None))


@task_postrun.connect
def clear_task_request_id(task_id=None, **kwargs):
    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        from core.logging import reset_request_id

        reset_request_id(token)
