from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks: subscriptions, an outbox of deliveries sent by Celery, the delivery log."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # tasks: registers the send task, which the outbox finds by its name.
        from . import receivers, tasks  # noqa: F401

        receivers.connect()
