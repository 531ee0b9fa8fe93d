"""Tasks for the worker tests; a test worker imports them with `--include`."""

from celery import shared_task
from django.db import connection


@shared_task
def database_backend_pid() -> int:
    """The PostgreSQL backend serving this worker process's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@shared_task(soft_time_limit=1, time_limit=60)
def slow_query(seconds: float = 10) -> None:
    """A query still running when the soft time limit strikes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])
