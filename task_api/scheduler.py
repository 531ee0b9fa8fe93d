"""Beat's scheduler: django-celery-beat's DatabaseScheduler, writing each entry's run count and
time to its row as it fires, so a schedule's `last_run_at`/`total_run_count` (API, admin) are
current.

Beat counts firings in memory and the library writes them back only every 3 minutes
(`sync_every`) and at a clean exit, so a schedule fired three times read "never run", and a
killed beat lost its counts. CELERY_BEAT_SYNC_EVERY = 1 (settings) makes beat write after
every message it sends; this class makes that write one UPDATE of the two counters. The
library's write re-reads the row and saves every column, which would undo a pause (`enabled`)
saved through the API between its read and its write.
"""

from django_celery_beat import schedulers


class ScheduleEntry(schedulers.ModelEntry):
    def save(self):
        # Beat's in-memory counters are the truth (it alone fires); a deleted row updates nothing.
        type(self.model)._default_manager.filter(pk=self.model.pk).update(
            last_run_at=self.model.last_run_at, total_run_count=self.model.total_run_count
        )


class DatabaseScheduler(schedulers.DatabaseScheduler):
    Entry = ScheduleEntry
