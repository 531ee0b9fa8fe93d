"""Celery tasks of the tasks app, run every minute by beat (see the beat_schedule migration)."""

from celery import shared_task

from .expiry import task_expire_overdue
from .reminders import task_send_due_reminders


@shared_task
def expire_overdue_tasks_task() -> int:
    return task_expire_overdue()


@shared_task
def send_due_reminders_task() -> int:
    return task_send_due_reminders()
