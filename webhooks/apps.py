from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks: subscriptions, an outbox of deliveries sent by Celery, the delivery log."""

    name = "webhooks"
    verbose_name = "Webhooks"
