"""The task API's own Celery tasks: the dispatcher beat runs, schedule firings and examples.

Every registered name is explicit: beat rows, queued messages and API clients use it, so
neither moving a function nor the `_task` suffix of its Python name may change it.
"""

from datetime import datetime, timedelta

from celery import shared_task

from . import services
from .decorators import api_task


# Beat runs this every 5 s (entry in config/beat.py). Results are not kept: a
# row every few seconds in django-celery-results would only bury the real ones.
@shared_task(name="task_api.tasks.dispatch_due_executions", ignore_result=True)
def dispatch_due_executions_task() -> int:
    services.executions_fail_lost()
    return services.executions_dispatch_due()


@shared_task(name="task_api.tasks.run_scheduled", ignore_result=True)
def run_scheduled_task(schedule_id: str, fire_time: str | None = None) -> None:
    # fire_time: the beat tick (ISO 8601) this firing is for; one execution per schedule and tick.
    services.schedule_fire(schedule_id=schedule_id, fire_time=datetime.fromisoformat(fire_time) if fire_time else None)


@api_task(["task_api.run_benchmarks"], "Add two numbers: a cheap task for checks and benchmarks.")
@shared_task(name="task_api.tasks.add")
def add_task(x: float, y: float) -> float:
    return x + y


@api_task(
    ["task_api.run_maintenance"],
    "Delete finished task API executions older than `older_than_days`; meant to run as a recurring schedule.",
)
@shared_task(name="task_api.tasks.purge_executions", time_limit=600, soft_time_limit=540)
def purge_executions_task(older_than_days: int = 90) -> dict:
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1 (idempotency keys live 24 hours)")
    return {"deleted": services.executions_purge(older_than=timedelta(days=older_than_days))}
