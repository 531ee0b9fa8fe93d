import atexit
import gc

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from . import schema  # noqa: F401  registers the auth extensions for drf-spectacular
        from .beat import sync_beat_schedule_after_migrate
        from .db import use_sqlite_variable_limit

        connection_created.connect(use_sqlite_variable_limit, dispatch_uid="core.sqlite_variable_limit")
        post_migrate.connect(sync_beat_schedule_after_migrate, sender=self, dispatch_uid="core.beat_schedule")
        # Web, worker and beat exit without a last garbage collection of the whole loaded project:
        # it cost each process 3-4 s of CPU at every stop (most of an idle Ctrl-C of `make run`).
        # Nothing then needs it: connections and files are closed by their owners, and logging
        # flushes in its own exit hook, which runs after this one.
        atexit.register(gc.freeze)
