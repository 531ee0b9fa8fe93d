"""The expiry job run by beat: failing open tasks whose due date has passed.

It claims its rows with SELECT ... FOR UPDATE SKIP LOCKED inside one transaction and
re-checks the condition in the UPDATE, so two runs at once (two workers, a duplicated beat
tick) split the rows instead of processing any twice. SQLite ignores FOR UPDATE, but its
IMMEDIATE transactions (see settings) serialise the runs instead. The work is a fixed
number of queries however many tasks are due. `tasks.reminders` claims its rows the same way.

On PostgreSQL the claim, the update and the history rows are one statement (data-modifying
CTEs, the history an INSERT ... SELECT from the claimed rows): no ids travel to Python and
back, and the statement's work is the expiring rows' (the claim walks
task_live_open_due_desc_idx / task_status_due_idx), not the table's.
"""

from collections.abc import Mapping
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .events import tasks_expired
from .models import Task, TaskStatusHistory
from .selectors import overdue_q


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> None:
    """Announce the tasks this run failed ({id: title}), its rows still locked.

    A function of its own so the concurrency test can hold one run here, locks held.
    """
    tasks_expired.send(sender=Task, task_titles=task_titles)


def _expire_in_one_statement(now: datetime) -> list[tuple[int, str]]:
    """PostgreSQL: claim, fail and record the overdue tasks in one statement; [(id, title)]."""
    task, history = Task._meta.db_table, TaskStatusHistory._meta.db_table
    claim, params = (
        Task.objects.select_for_update(skip_locked=True)
        .filter(overdue_q(now=now))
        .order_by()
        .values("id", "status", "title")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH claimed AS ({claim}),
            failed AS (
                -- By primary key: a join would hash the whole table to find the claimed rows.
                UPDATE {task} SET status = %s, updated_at = %s
                WHERE id = ANY(ARRAY(SELECT id FROM claimed))
            ),
            recorded AS (
                INSERT INTO {history} (task_id, from_status, to_status, changed_by_id, created_at)
                SELECT id, status, %s, NULL, %s FROM claimed
            )
            SELECT id, title FROM claimed
            """,
            [*params, Task.Status.FAILED, now, Task.Status.FAILED, timezone.now()],
        )
        return cursor.fetchall()


@transaction.atomic
def task_expire_overdue(*, now: datetime | None = None) -> int:
    """Fail every open task whose due date has passed; returns how many this run failed."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        expired = _expire_in_one_statement(now)
        if expired:
            notify_tasks_expired(task_titles=dict(expired))
        return len(expired)
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
