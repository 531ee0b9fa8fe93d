from django.core.management.base import BaseCommand

from core.beat import beat_schedule_sync


class Command(BaseCommand):
    help = "Write settings.BEAT_SCHEDULE into django-celery-beat's tables (upsert by name; keeps `enabled`)."

    def handle(self, *args, **options):
        for name in beat_schedule_sync():
            self.stdout.write(f"synced {name}")
