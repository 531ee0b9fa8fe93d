"""Celery tasks of the notifications app; all routed to the "emails" queue by settings."""

from celery import shared_task

from .outbox import RETRYABLE_EMAIL_ERRORS, SEND_EMAIL_TASK, notification_email_send, notification_outbox_sweep


@shared_task(
    name=SEND_EMAIL_TASK,
    bind=True,
    autoretry_for=RETRYABLE_EMAIL_ERRORS,
    max_retries=3,
    default_retry_delay=300,
    retry_backoff=False,
    ignore_result=True,
)
def send_notification_email_task(self, notification_id: int) -> bool:
    return notification_email_send(
        notification_id=notification_id, final_attempt=self.request.retries >= self.max_retries
    )


@shared_task(ignore_result=True)
def sweep_email_outbox_task() -> int:
    return notification_outbox_sweep()
