"""Beat's scheduler: django-celery-beat's DatabaseScheduler, writing each entry's run count and
time to its row as it fires, so a schedule's `last_run_at`/`total_run_count` (API, admin) are
current, and firing the task API's recurring schedules on a clock grid every beat agrees on.

Beat counts firings in memory and the library writes them back only every 3 minutes
(`sync_every`) and at a clean exit, so a schedule fired three times read "never run", and a
killed beat lost its counts. CELERY_BEAT_SYNC_EVERY = 1 (settings) makes beat write after
every message it sends; this class makes that write one UPDATE of the two counters. The
library's write re-read the row and saved every column, which would undo a pause (`enabled`)
saved through the API between its read and its write.

Two beats at once (a second replica, a deploy overlapping the old one) each fire every entry.
The periodic sweeps are idempotent (they claim rows with SKIP LOCKED); a recurring schedule
of the task API is not, so each of its messages names the tick it is for (`fire_time`) and
`schedule_fire` creates at most one execution per schedule and tick (a unique constraint).
For both beats to name a tick alike, interval schedules fire at the multiples of their
interval since the Unix epoch (every 10 s: at :00, :10, …; every hour: on the hour), not
counted from each beat's own last send; crontab schedules are on the clock already and their
tick is the minute.
"""

import math
from datetime import UTC, datetime, timedelta

from celery import schedules as celery_schedules
from celery.beat import BeatLazyFunc
from django.db.models import DateTimeField, F, IntegerField, Value
from django.db.models.functions import Coalesce, Greatest
from django_celery_beat import schedulers

from .services.schedules import RUN_SCHEDULED_TASK


class ClockAlignedInterval(celery_schedules.schedule):
    """Every `run_every`, due at each multiple of it since the epoch (UTC) that came after the
    last run: every beat process sees the same ticks. A tick missed while beat was down is
    fired once (only the latest), as Celery's own interval does."""

    def tick_at(self, moment: datetime) -> datetime:
        """The latest tick at or before `moment`."""
        period = self.run_every.total_seconds()
        return datetime.fromtimestamp(math.floor(moment.timestamp() / period) * period, tz=UTC)

    def is_due(self, last_run_at: datetime):
        now = self.maybe_make_aware(self.now())
        tick = self.tick_at(now)
        until_next = (tick + self.run_every - now).total_seconds() or self.seconds
        return celery_schedules.schedstate(self.maybe_make_aware(last_run_at) < tick, until_next)

    def remaining_estimate(self, last_run_at: datetime):
        now = self.maybe_make_aware(self.now())
        next_tick = self.tick_at(self.maybe_make_aware(last_run_at)) + self.run_every
        return max(next_tick - now, timedelta(0))


def fire_time_of(schedule) -> str:
    """The tick a firing sent now is for, as the ISO string the message carries."""
    now = schedule.maybe_make_aware(schedule.now())
    if isinstance(schedule, ClockAlignedInterval):
        tick = schedule.tick_at(now)
    else:  # a crontab fires at most once a minute
        tick = now.astimezone(UTC).replace(second=0, microsecond=0)
    return tick.isoformat()


class ScheduleEntry(schedulers.ModelEntry):
    def __init__(self, model, app=None):
        super().__init__(model, app=app)
        if self.task != RUN_SCHEDULED_TASK:
            return
        schedule = self.schedule
        if type(schedule) is celery_schedules.schedule:
            schedule = self.schedule = ClockAlignedInterval(
                run_every=schedule.run_every, nowfun=schedule.nowfun, app=schedule._app
            )
        if isinstance(schedule, (ClockAlignedInterval, celery_schedules.crontab)):
            # Evaluated by beat as it sends the message (celery.beat._evaluate_entry_kwargs).
            self.kwargs = {**self.kwargs, "fire_time": BeatLazyFunc(fire_time_of, schedule)}

    def save(self):
        # Beat's in-memory counters, written with one UPDATE (a deleted row updates nothing).
        # GREATEST: with two beats each counts the ticks it fired; the row keeps the higher
        # count and the later time instead of whichever beat wrote last.
        last_run_at = Value(self.model.last_run_at, output_field=DateTimeField())
        count = Value(self.model.total_run_count, output_field=IntegerField())
        type(self.model)._default_manager.filter(pk=self.model.pk).update(
            last_run_at=Greatest(Coalesce(F("last_run_at"), last_run_at), last_run_at),
            total_run_count=Greatest(F("total_run_count"), count),
        )


class DatabaseScheduler(schedulers.DatabaseScheduler):
    Entry = ScheduleEntry
