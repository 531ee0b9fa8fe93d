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
