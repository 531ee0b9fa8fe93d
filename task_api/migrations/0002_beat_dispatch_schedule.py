"""Beat entries of the task API, kept in django-celery-beat's tables so staff can see and tune them."""

from django.db import migrations
from django.utils import timezone

# Claims due scheduled executions and resends unsent ones; a few seconds is the precision
# scheduled_at promises. Ticks left waiting 30 s for a worker are dropped (expire_seconds),
# so a worker coming back after an outage does not chew through a pile of stale ticks.
DISPATCH = {
    "name": "task_api: dispatch due executions",
    "task": "task_api.tasks.dispatch_due_executions",
    "every": 5,
    "expire_seconds": 30,
    "description": "Sends SCHEDULED executions whose time has come and PENDING ones never picked up.",
}


def create_entries(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_5s, _ = IntervalSchedule.objects.get_or_create(every=DISPATCH["every"], period="seconds")
    PeriodicTask.objects.update_or_create(
        name=DISPATCH["name"],
        defaults={
            "task": DISPATCH["task"],
            "interval": every_5s,
            "crontab": None,
            "expire_seconds": DISPATCH["expire_seconds"],
            "description": DISPATCH["description"],
            "enabled": True,
        },
    )
    # Historical models send no signals: tell a running beat to reload by hand.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_entries(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=DISPATCH["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("task_api", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entries, remove_entries)]
