"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


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
