"""Writes of the task API: executions (web and beat side), their run on a worker, and schedules."""

from .executions import (
    EXECUTION_HEADER,
    execution_cancel,
    execution_mark_failed,
    execution_rerun,
    execution_submit,
    executions_dispatch_due,
    executions_fail_lost,
    executions_purge,
    registered_task_for,
)
from .schedules import schedule_create, schedule_delete, schedule_fire, schedule_set_enabled

__all__ = [
    "EXECUTION_HEADER",
    "execution_cancel",
    "execution_mark_failed",
    "execution_rerun",
    "execution_submit",
    "executions_dispatch_due",
    "executions_fail_lost",
    "executions_purge",
    "registered_task_for",
    "schedule_create",
    "schedule_delete",
    "schedule_fire",
    "schedule_set_enabled",
]
