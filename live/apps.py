from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Live events: the event log and the Server-Sent Events stream `/api/v1/events/`."""

    name = "live"
    verbose_name = "Live events"
