"""`/metrics`: core's request, database and queue metrics, plus what the apps add at scrape.

Here, above every app, because the gauges read the apps' tables (core may not import them).
Each is one GROUP BY, cut off after 2 s on PostgreSQL and shared by every process and
scraper for METRICS_CACHE_SECONDS.
"""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from core.metrics import bounded_rows, cached_at_scrape, make_metrics_view
from notifications.models import Notification
from task_api.models import TaskExecution


def _execution_counts() -> list:
    rows = TaskExecution.objects.order_by().values_list("task_name", "status").annotate(n=Count("*"))
    return [list(row) for row in bounded_rows(rows)]


def task_api_execution_metrics():
    gauge = GaugeMetricFamily(
        "taskhub_task_api_executions",
        "Task-API executions in the database, by task name and status.",
        labels=["task_name", "status"],
    )
    for task_name, status, count in cached_at_scrape("executions", _execution_counts):
        gauge.add_metric([task_name, status], count)
    yield gauge


def _email_counts() -> list:
    rows = Notification.objects.order_by().values_list("email_status").annotate(n=Count("*"))
    return [list(row) for row in bounded_rows(rows)]


def email_metrics():
    gauge = GaugeMetricFamily(
        "taskhub_notification_emails", "Notification emails (the outbox) by status.", labels=["status"]
    )
    counts = dict.fromkeys(Notification.EmailStatus.values, 0)
    counts.update(dict(cached_at_scrape("emails", _email_counts)))
    for status, count in counts.items():
        gauge.add_metric([status], count)
    yield gauge


metrics_view = make_metrics_view([task_api_execution_metrics, email_metrics])
