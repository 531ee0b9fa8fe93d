"""A heartbeat for Celery beat: a file touched at every tick, for container health checks."""

from pathlib import Path

from django.conf import settings


class HeartbeatMixin:
    """Mixed into a beat scheduler: touches BEAT_HEARTBEAT_FILE (when set) after each tick.

    django-celery-beat's DatabaseScheduler ticks at least every 5 s (its max_interval), so a
    file older than a minute means beat is stuck or gone, which a live process alone would not tell.
    """

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        if settings.BEAT_HEARTBEAT_FILE:
            Path(settings.BEAT_HEARTBEAT_FILE).touch()
        return interval
