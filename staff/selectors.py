"""The dashboard's numbers: each block one aggregate query over an indexed column.

Counts are grouped in the database (per department and status; per day with TruncDay; per
hour and status with TruncHour), so the page costs the same number of queries, each reading
only its time window, whether there are a thousand rows or a million.
"""

import logging
import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Q
from django.db.models.functions import TruncDay, TruncHour

from core.admin_display import duration_text
from core.metrics import queue_depths, queue_names
from task_api.models import TaskExecution
from tasks.models import Task

from . import charts
from .stuck import stuck_groups

logger = logging.getLogger(__name__)

DAYS = 30
HOURS = 48
# SQLite has no percentile function: durations of at most this many recent runs are read instead.
PERCENTILE_FALLBACK_ROWS = 5000
DEPARTMENTS_SHOWN = 12

ExecStatus = TaskExecution.Status


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression); NULLs are skipped."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


def _run_time():
    return F("completed_at") - F("started_at")


def open_tasks_by_department(*, now: datetime) -> dict:
    """Open (to do, in progress) and failed tasks per department, with how many open ones are overdue."""
    rows = (
        Task.objects.filter(status__in=[*Task.OPEN_STATUSES, Task.Status.FAILED])
        .values("department_id", "department__name", "status")
        .annotate(n=Count("id"), overdue=Count("id", filter=Q(due_date__lt=now, status__in=Task.OPEN_STATUSES)))
        .order_by()
    )
    departments: dict = defaultdict(lambda: {"todo": 0, "in_progress": 0, "failed": 0, "overdue": 0})
    names = {}
    for row in rows:
        key = row["department_id"]
        names[key] = row["department__name"] or "(no department)"
        departments[key][row["status"]] += row["n"]
        departments[key]["overdue"] += row["overdue"]
    ordered = sorted(
        departments.items(), key=lambda item: (-(item[1]["todo"] + item[1]["in_progress"]), names[item[0]])
    )
    shown = [{"name": names[key], **counts} for key, counts in ordered[:DEPARTMENTS_SHOWN]]
    totals = {k: sum(c[k] for c in departments.values()) for k in ("todo", "in_progress", "failed", "overdue")}
    return {"departments": shown, "hidden": max(0, len(ordered) - DEPARTMENTS_SHOWN), "totals": totals}


def tasks_per_day(*, now: datetime, days: int = DAYS) -> list[dict]:
    """[{day, created, completed}] for the last `days` days (today included), oldest first."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Bounded on both sides: a (mis)dated completion in the future is no bar and costs no read.
    end = start + timedelta(days=days)

    def per_day(field: str) -> dict:
        return dict(
            Task.objects.filter(**{f"{field}__gte": start, f"{field}__lt": end})
            .annotate(day=TruncDay(field))
            .values("day")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("day", "n")
        )

    created, completed = per_day("created_at"), per_day("completed_at")
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        series.append({"day": day, "created": created.get(day, 0), "completed": completed.get(day, 0)})
    return series


def executions_per_hour(*, now: datetime, hours: int = HOURS) -> list[dict]:
    """[{hour, counts: {status: n}, total}] for the last `hours` hours (this one included), oldest first."""
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    per_hour: dict = defaultdict(dict)
    rows = (
        TaskExecution.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(hours=hours))
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        per_hour[row["hour"]][row["status"]] = row["n"]
    series = []
    for offset in range(hours):
        hour = start + timedelta(hours=offset)
        counts = per_hour.get(hour, {})
        series.append({"hour": hour, "counts": counts, "total": sum(counts.values())})
    return series


def _percentile(sorted_values: list, fraction: float):
    """Linear interpolation between the closest ranks, as percentile_cont does."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def execution_stats_by_task(*, now: datetime, hours: int = HOURS) -> list[dict]:
    """Per task name over the window: runs, finished, failed, failure rate, p50/p95 run time."""
    since = now - timedelta(hours=hours)
    window = TaskExecution.objects.filter(created_at__gte=since)
    aggregates = {
        "runs": Count("id"),
        "finished": Count("id", filter=Q(status__in=TaskExecution.FINISHED)),
        "failed": Count("id", filter=Q(status=ExecStatus.FAILURE)),
    }
    on_postgres = connection.vendor == "postgresql"
    if on_postgres:
        aggregates["p50"] = PercentileCont(_run_time(), 0.5)
        aggregates["p95"] = PercentileCont(_run_time(), 0.95)
    rows = list(window.values("task_name").annotate(**aggregates).order_by("-runs", "task_name"))
    if not on_postgres and rows:
        durations = defaultdict(list)
        finished = (
            window.filter(started_at__isnull=False, completed_at__isnull=False)
            .order_by("-created_at")
            .values_list("task_name", "started_at", "completed_at")[:PERCENTILE_FALLBACK_ROWS]
        )
        for task_name, started_at, completed_at in finished:
            durations[task_name].append(completed_at - started_at)
        for row in rows:
            values = sorted(durations.get(row["task_name"], []))
            row["p50"], row["p95"] = _percentile(values, 0.5), _percentile(values, 0.95)
    for row in rows:
        row["failure_rate"] = row["failed"] / row["finished"] if row["finished"] else None
        row["p50_text"], row["p95_text"] = seconds_text(row["p50"]), seconds_text(row["p95"])
    return rows


def seconds_text(value: timedelta | None) -> str:
    """A run time as "0.25 s" under a minute, else H:MM:SS."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    return f"{seconds:.2f} s" if seconds < 60 else duration_text(value)


def queue_depth_rows() -> list[dict]:
    """[{queue, depth}] with depth None ("n/a") when the broker does not answer in time."""
    try:
        depths = queue_depths()
    except Exception:  # the dashboard shows "n/a"; the broker's trouble is not the page's
        logger.warning("Could not read the queue depths for the dashboard", exc_info=True)
        depths = {}
    return [{"queue": name, "depth": depths.get(name)} for name in queue_names()]


def dashboard(*, now: datetime) -> dict:
    """Everything the admin index shows, in a fixed number of queries (7 on PostgreSQL, 8 on SQLite)."""
    departments = open_tasks_by_department(now=now)
    days = tasks_per_day(now=now)
    hours = executions_per_hour(now=now)
    by_task = execution_stats_by_task(now=now)
    status_totals = defaultdict(int)
    for hour in hours:
        for status, n in hour["counts"].items():
            status_totals[status] += n
    finished = sum(status_totals[s] for s in TaskExecution.FINISHED)
    stuck = stuck_groups(now)
    return {
        "now": now,
        "tasks": departments,
        "department_chart": charts.department_bars(departments["departments"]),
        "day_chart": charts.day_bars(days),
        "hour_chart": charts.hour_bars(hours),
        "days": days,
        "hours": HOURS,
        "day_count": DAYS,
        "execution_totals": {
            "runs": sum(status_totals.values()),
            "failed": status_totals[ExecStatus.FAILURE],
            "failure_rate": status_totals[ExecStatus.FAILURE] / finished if finished else None,
            "by_status": [
                {"status": s.label, "key": s.value, "n": status_totals[s.value]}
                for s in ExecStatus
                if status_totals[s.value]
            ],
        },
        "by_task": by_task,
        "queues": queue_depth_rows(),
        "stuck": stuck,
        "stuck_count": sum(group.count for group in stuck),
    }
