"""The beat schedule: every periodic entry, in one table, synced into django-celery-beat's tables.

`core.beat.beat_schedule_sync` upserts these rows by name after every `migrate` (and from
`manage.py sync_beat_schedule`). The code owns what runs and when (task, schedule, expiry,
description); staff own `enabled`: an entry they disabled in admin stays disabled, while a
schedule they edited there is put back to this table at the next sync.

`expire_seconds` drops a tick that waited longer than its period: after an outage the next
tick does the same work, so a backlog of stale ticks would only repeat it.
"""

from typing import NamedTuple


class BeatEntry(NamedTuple):
    name: str
    task: str
    # An IntervalSchedule's {"every", "period"}, or a CrontabSchedule's fields (UTC).
    schedule: dict
    expire_seconds: int
    description: str


EVERY_MINUTE = {"every": 1, "period": "minutes"}

BEAT_SCHEDULE = [
    # Fails every todo/in_progress task whose due date has passed and tells the people on it.
    BeatEntry(
        "tasks.expire_overdue", "tasks.tasks.expire_overdue_tasks_task", EVERY_MINUTE, 55,
        "Every minute: open tasks past their due date become failed; creator and assignees are notified.",
    ),
    # Reminds assignees once per due date, TASK_REMINDER_BEFORE (default 24 h) ahead of it.
    BeatEntry(
        "tasks.send_due_reminders", "tasks.tasks.send_due_reminders_task", EVERY_MINUTE, 55,
        "Every minute: due-date reminders to assignees, once per task and due date.",
    ),
    # Queues notification emails whose send task never reached the broker (broker outage).
    BeatEntry(
        "notifications.sweep_email_outbox", "notifications.tasks.sweep_email_outbox_task", EVERY_MINUTE, 55,
        "Every minute: re-queues pending notification emails that never reached the broker.",
    ),
    # Queues webhook deliveries whose message was lost or never left (broker outage), and
    # retries whose time has come; the send claims each row, so a duplicate costs nothing.
    BeatEntry(
        "webhooks.sweep_deliveries", "webhooks.tasks.sweep_webhook_deliveries_task", EVERY_MINUTE, 55,
        "Every minute: queues pending webhook deliveries that are overdue (lost messages, retries due).",
    ),
    # The delivery log is for debugging receivers; finished rows past the retention go.
    BeatEntry(
        "webhooks.purge_deliveries", "webhooks.tasks.purge_webhook_deliveries_task",
        {"minute": "30", "hour": "4", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}, 12 * 3600,
        "Daily at 04:30 UTC: deletes finished webhook deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS.",
    ),
    # Claims due scheduled executions and resends unsent ones: a few seconds is the precision
    # `scheduled_at` promises.
    BeatEntry(
        "task_api: dispatch due executions", "task_api.tasks.dispatch_due_executions",
        {"every": 5, "period": "seconds"}, 30,
        "Sends SCHEDULED executions whose time has come and PENDING ones never picked up.",
    ),
    # Deletes live events older than LIVE_EVENTS_RETENTION (at least an hour, the replay SPEC
    # promises a reconnecting stream); a stream resuming from before them gets `event: reset`.
    BeatEntry(
        "live.purge_events", "live.tasks.purge_events_task", {"every": 10, "period": "minutes"}, 9 * 60,
        "Every 10 minutes: deletes live events older than LIVE_EVENTS_RETENTION.",
    ),
    # Celery's own cleanup of expired results in django-celery-results. Same name, time and
    # expiry as the entry beat installs by itself, so beat's start-up upsert changes nothing.
    BeatEntry(
        "celery.backend_cleanup", "celery.backend_cleanup",
        {"minute": "0", "hour": "4", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}, 12 * 3600,
        "Daily at 04:00 UTC: deletes expired Celery task results.",
    ),
]
