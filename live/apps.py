from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Live events: the event log and the Server-Sent Events stream `/api/v1/events/`."""

    name = "live"
    verbose_name = "Live events"

    def ready(self):
        # tasks: registers the purge task that beat sends by name.
        from . import receivers, tasks  # noqa: F401

        receivers.connect()
