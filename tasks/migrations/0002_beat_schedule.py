"""The beat schedule, in django-celery-beat's tables so staff can see and change it in admin.

Entries are upserted by name, so running this again (or on a database that already has
them) leaves exactly one of each.
"""

from django.db import migrations
from django.utils import timezone

# (name, task, schedule, expire_seconds, description)
# expire_seconds drops a tick that waited longer than its period: after an outage the
# next tick does the same work, so a backlog of stale ticks would only repeat it.
SCHEDULE = [
    # Fails every todo/in_progress task whose due date has passed (SPEC section 5).
    ("tasks.expire_overdue", "tasks.tasks.expire_overdue_tasks_task", {"every": 1, "period": "minutes"}, 55,
     "Every minute: open tasks past their due date become failed; creator and assignees are notified."),
    # Reminds assignees once per due date, TASK_REMINDER_BEFORE (default 24 h) ahead of it.
    ("tasks.send_due_reminders", "tasks.tasks.send_due_reminders_task", {"every": 1, "period": "minutes"}, 55,
     "Every minute: due-date reminders to assignees, once per task and due date."),
    # Queues notification emails whose send task never reached the broker (broker outage).
    ("notifications.sweep_email_outbox", "notifications.tasks.sweep_email_outbox_task",
     {"every": 1, "period": "minutes"}, 55,
     "Every minute: re-queues pending notification emails that never reached the broker."),
    # Celery's own cleanup of expired results in django-celery-results. Same name, time and
    # expiry as the entry beat installs by itself, so beat's start-up upsert changes nothing.
    ("celery.backend_cleanup", "celery.backend_cleanup",
     {"minute": "0", "hour": "4", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
     12 * 3600, "Daily at 04:00 UTC: deletes expired Celery task results."),
]


def create_beat_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    for name, task, schedule, expire_seconds, description in SCHEDULE:
        if "period" in schedule:
            interval = IntervalSchedule.objects.filter(**schedule).first() or IntervalSchedule.objects.create(
                **schedule
            )
            kinds = {"interval": interval, "crontab": None}
        else:
            crontab = CrontabSchedule.objects.filter(**schedule, timezone="UTC").first()
            crontab = crontab or CrontabSchedule.objects.create(**schedule, timezone="UTC")
            kinds = {"interval": None, "crontab": crontab}
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                **kinds,
                "solar": None,
                "clocked": None,
                "expire_seconds": expire_seconds,
                "description": description,
                "enabled": True,
            },
        )
    # A running beat reloads its schedule when this marker changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_beat_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[entry[0] for entry in SCHEDULE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_beat_schedule, remove_beat_schedule)]
