"""The expiry job run by beat: failing open tasks whose due date has passed.

It claims its rows with SELECT ... FOR UPDATE SKIP LOCKED inside one transaction and
re-checks the condition in the UPDATE, so two runs at once (two workers, a duplicated beat
tick) split the rows instead of processing any twice. SQLite ignores FOR UPDATE, but its
IMMEDIATE transactions (see settings) serialise the runs instead. The work is a fixed
number of queries however many tasks are due. `tasks.reminders` claims its rows the same way.
"""

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .events import tasks_expired
from .models import Task, TaskStatusHistory
from .selectors import overdue_q


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> None:
    """Announce the tasks this run failed ({id: title}), its rows still locked.

    A function of its own so the concurrency test can hold one run here, locks held.
    """
    tasks_expired.send(sender=Task, task_titles=task_titles)


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
