"""Time-driven task changes run by beat: failing overdue tasks and due-date reminders.

Both claim their rows with SELECT ... FOR UPDATE SKIP LOCKED inside one transaction and
re-check the condition in the UPDATE, so two runs at once (two workers, a duplicated beat
tick) split the rows instead of processing any twice. SQLite ignores FOR UPDATE, but its
IMMEDIATE transactions (see settings) serialise the runs instead. The work is a fixed
number of queries however many tasks are due.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from notifications.services import notify_tasks_due_soon, notify_tasks_expired

from .models import Task, TaskStatusHistory
from .selectors import overdue_q


@transaction.atomic
def task_expire_overdue(*, now: datetime | None = None) -> int:
    """Fail every open task whose due date has passed; returns how many this run failed."""
    now = now or timezone.now()
    claimed = list(
        Task.objects.select_for_update(skip_locked=True)
        .filter(overdue_q(now=now))
        .order_by()
        .values_list("id", "status", "title")
    )
    if not claimed:
        return 0
    ids = [task_id for task_id, _, _ in claimed]
    Task.objects.filter(id__in=ids, status__in=Task.OPEN_STATUSES).update(
        status=Task.Status.FAILED, updated_at=now
    )
    TaskStatusHistory.objects.bulk_create(
        TaskStatusHistory(task_id=task_id, from_status=status, to_status=Task.Status.FAILED, changed_by=None)
        for task_id, status, _ in claimed
    )
    notify_tasks_expired(task_titles={task_id: title for task_id, _, title in claimed})
    return len(claimed)


@transaction.atomic
def task_send_due_reminders(*, now: datetime | None = None) -> int:
    """Remind assignees once per task and due date, TASK_REMINDER_BEFORE ahead of it.

    `reminder_sent_for` records the due date reminded of, so moving the due date re-arms
    the reminder. A task nobody is assigned to stays armed until somebody is.
    """
    now = now or timezone.now()
    not_yet_reminded = Q(reminder_sent_for__isnull=True) | ~Q(reminder_sent_for=F("due_date"))
    claimed = list(
        Task.objects.select_for_update(skip_locked=True)
        .filter(
            not_yet_reminded,
            Exists(Task.assignees.through.objects.filter(task_id=OuterRef("pk"))),
            status__in=Task.OPEN_STATUSES,
            due_date__gt=now,
            due_date__lte=now + settings.TASK_REMINDER_BEFORE,
        )
        .order_by()
        .values_list("id", "title", "due_date")
    )
    if not claimed:
        return 0
    Task.objects.filter(id__in=[task_id for task_id, _, _ in claimed]).update(reminder_sent_for=F("due_date"))
    notify_tasks_due_soon(due_dates={task_id: (title, due) for task_id, title, due in claimed})
    return len(claimed)
