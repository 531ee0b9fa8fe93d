"""Celery tasks of the webhooks app; all routed to the "webhooks" queue by settings.

Retries are not Celery retries: the delivery row holds its retry time (durable across
broker outages), and the outbox queues the next attempt or leaves it to the sweeper.
"""

from celery import shared_task

from .outbox import SEND_TASK, deliveries_purge, deliveries_sweep, delivery_attempt


@shared_task(name=SEND_TASK, ignore_result=True)
def send_webhook_delivery_task(delivery_id: str) -> str | None:
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.sweep_webhook_deliveries_task", ignore_result=True)
def sweep_webhook_deliveries_task() -> int:
    return deliveries_sweep()


@shared_task(name="webhooks.tasks.purge_webhook_deliveries_task", ignore_result=True)
def purge_webhook_deliveries_task() -> int:
    return deliveries_purge()
