"""The scheduler beat runs (CELERY_BEAT_SCHEDULER): task_api's DatabaseScheduler with core's heartbeat file."""

from core.heartbeat import HeartbeatMixin
from task_api.scheduler import DatabaseScheduler


class BeatScheduler(HeartbeatMixin, DatabaseScheduler):
    pass
