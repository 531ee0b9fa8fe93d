"""The due-date reminder job run by beat; it claims its rows as `tasks.expiry` explains."""

from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .events import tasks_due_soon
from .models import Task


def notify_tasks_due_soon(*, due_dates: Mapping[int, tuple[str, datetime]]) -> None:
    """Announce the reminders this run claimed ({id: (title, due_date)}), its rows still locked."""
    tasks_due_soon.send(sender=Task, due_dates=due_dates)


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
