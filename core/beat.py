"""Writes settings.BEAT_SCHEDULE into django-celery-beat's tables, idempotently (upsert by name)."""

from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone


def beat_schedule_sync(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create or update each entry of BEAT_SCHEDULE; returns the names written.

    `enabled` is set on creation only, so an entry staff disabled in admin stays disabled.
    Works with the historical models a post_migrate receiver is given, which send no signals:
    the PeriodicTasks marker that makes a running beat reload is bumped here by hand.
    """
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    names = []
    for entry in settings.BEAT_SCHEDULE:
        if "period" in entry.schedule:
            interval = IntervalSchedule.objects.using(using).filter(**entry.schedule).first()
            interval = interval or IntervalSchedule.objects.using(using).create(**entry.schedule)
            kinds = {"interval": interval, "crontab": None}
        else:
            crontab = CrontabSchedule.objects.using(using).filter(**entry.schedule, timezone="UTC").first()
            crontab = crontab or CrontabSchedule.objects.using(using).create(**entry.schedule, timezone="UTC")
            kinds = {"interval": None, "crontab": crontab}
        fields = {
            "task": entry.task,
            **kinds,
            "solar": None,
            "clocked": None,
            "expire_seconds": entry.expire_seconds,
            "description": entry.description,
        }
        PeriodicTask.objects.using(using).update_or_create(
            name=entry.name, defaults=fields, create_defaults={**fields, "enabled": True}
        )
        names.append(entry.name)
    PeriodicTasks.objects.using(using).update_or_create(ident=1, defaults={"last_update": timezone.now()})
    return names


def sync_beat_schedule_after_migrate(sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate receiver: `migrate` (tests, `make run`, deploys) and `flush` leave the schedule in place.

    `flush` sends no `apps`: then the current models serve.
    """
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:  # django_celery_beat not migrated (yet) on this database
        return
    beat_schedule_sync(apps=apps, using=using)
