"""The delivery outbox: rows written with the event, sent by Celery after commit.

A delivery row is written inside the transaction of the change it reports, and its send task
is queued only once that commits. Nothing is lost while the broker is down: the sweeper
(beat, every minute) queues every pending delivery that is overdue. Sending twice at once is
impossible: an attempt starts only by a conditional UPDATE claiming the row (pending, due, not
claimed by a live run), so duplicated or repeated messages find nothing to do.
"""

import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from notifications.models import Notification
from notifications.services import notify_user

from . import network, signing
from .models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

# Registered names of the Celery tasks (webhooks.tasks imports this module, so it is looked up by name).
SEND_TASK = "webhooks.tasks.send_webhook_delivery_task"
SWEEP_BATCH_SIZE = 1000
# A retry due within this many seconds is queued with a countdown; later ones are left to the
# sweeper (a broker holds countdown messages in a worker's memory, unacknowledged).
COUNTDOWN_MAX_SECONDS = 600

Status = WebhookDelivery.Status


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def deliveries_create(*, items: Iterable[tuple[int, str, dict]]) -> list[WebhookDelivery]:
    """Store one pending delivery per (webhook id, event, data) in one INSERT, due now, and queue
    them once the transaction commits. `data` may be shared between items."""
    now = timezone.now()
    rows = []
    for webhook_id, event, data in items:
        delivery_id = uuid.uuid4()
        payload = {"id": str(delivery_id), "event": event, "created_at": _iso(now), "data": data}
        rows.append(
            WebhookDelivery(
                id=delivery_id, webhook_id=webhook_id, event=event, payload=payload, next_attempt_at=now, created_at=now
            )
        )
    if not rows:
        return []
    created = WebhookDelivery.objects.bulk_create(rows)
    deliveries_enqueue_on_commit([row.id for row in created])
    return created


def deliveries_enqueue_on_commit(delivery_ids: Sequence) -> None:
    # robust: whatever happens while queueing, the change that caused them has committed.
    transaction.on_commit(partial(deliveries_enqueue, delivery_ids=list(delivery_ids)), robust=True)


def deliveries_enqueue(*, delivery_ids: Sequence, countdown: float | None = None) -> int:
    """Hand one send task per delivery to the broker; returns how many it accepted.

    A broker outage is logged and leaves the rows pending for the sweeper, so the request
    that created them still succeeds (and does not wait on the broker).
    """
    send_task = current_app.tasks[SEND_TASK]
    queued = 0
    try:
        with send_task.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                send_task.apply_async((str(delivery_id),), producer=producer, countdown=countdown, retry=False)
                queued += 1
    except (BrokerError, OSError):
        logger.warning(
            "Broker unavailable: %d webhook delivery(ies) left in the outbox for the sweeper",
            len(delivery_ids) - queued,
            exc_info=True,
        )
    return queued


def unclaimed_q(now) -> Q:
    """Not being sent: never claimed, or claimed by a run that cannot be alive any more."""
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT))


def deliveries_sweep(*, now=None, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Queue the pending deliveries overdue by WEBHOOK_SWEEP_AFTER (their message was lost or never
    left, or their retry time came) and those whose claim a dead worker left; returns how many."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER)
    delivery_ids = list(
        WebhookDelivery.objects.filter(unclaimed_q(now), status=Status.PENDING, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:batch_size]
    )
    return deliveries_enqueue(delivery_ids=delivery_ids) if delivery_ids else 0


def deliveries_purge(*, now=None) -> int:
    """Delete finished deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS (the log is for
    debugging a receiver, and events times webhooks grow without end); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=Status.PENDING).delete()
    return deleted


def _retry_delay(attempts: int) -> float | None:
    """Seconds until the retry after attempt number `attempts` failed, or None when it was the last."""
    delays = settings.WEBHOOK_RETRY_DELAYS
    if attempts > len(delays):
        return None
    base = delays[attempts - 1]
    return base + random.uniform(0, base * 0.1)


def delivery_attempt(*, delivery_id) -> str | None:
    """Send one attempt of a pending, due delivery and record its outcome; returns the delivery's
    status after it, or None when there was nothing to do (not due, finished, or another run has it)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        unclaimed_q(now), pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.is_active:
        return _finish(delivery, claimed_at=now, answer=network.Answer(None, 0, "The webhook is disabled."),
                       retry=False)
    try:
        target = network.resolve(webhook.url)
    except network.UnsafeURL as exc:
        # No request is made; DNS may change back, so it is retried like any failure.
        answer = network.Answer(None, 0, f"Not sent: {exc}")
    else:
        body = signing.body_bytes(delivery.payload)
        timestamp = str(int(timezone.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Taskhub-Event": delivery.event,
            "X-Taskhub-Delivery": str(delivery.id),
            "X-Taskhub-Timestamp": timestamp,
            "X-Taskhub-Signature": signing.sign(webhook.secret, timestamp, body),
        }
        answer = network.post(target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT)
    return _finish(delivery, claimed_at=now, answer=answer, retry=answer.status != 410)


@transaction.atomic
def _finish(delivery: WebhookDelivery, *, claimed_at, answer: network.Answer, retry: bool) -> str | None:
    """Record an attempt's outcome on the delivery (only if this run still holds the claim) and
    on its webhook; disable the webhook on a 410 or at too many failed deliveries in a row."""
    now = timezone.now()
    succeeded = answer.status is not None and 200 <= answer.status < 300
    delay = None
    if succeeded:
        status, next_attempt_at, error = Status.SUCCEEDED, None, ""
    else:
        error = answer.error or f"The receiver answered {answer.status}."
        delay = _retry_delay(delivery.attempts) if retry else None
        status = Status.FAILED if delay is None else Status.PENDING
        next_attempt_at = None if delay is None else now + timedelta(seconds=delay)
    recorded = WebhookDelivery.objects.filter(pk=delivery.pk, claimed_at=claimed_at).update(
        status=status,
        claimed_at=None,
        next_attempt_at=next_attempt_at,
        response_status=answer.status,
        duration_ms=answer.duration_ms,
        last_error=error[:500],
    )
    if not recorded:
        # The claim timed out and another run took the delivery over: its outcome stands.
        return None
    webhooks = Webhook.objects.filter(pk=delivery.webhook_id)
    if answer.status is not None:
        webhooks.update(last_delivery_at=now)
    if succeeded:
        webhooks.exclude(failure_count=0).update(failure_count=0)
    elif answer.status == 410:
        _disable(delivery.webhook, reason="the receiver answered 410 Gone")
    elif status == Status.FAILED and delivery.webhook.is_active:
        webhooks.update(failure_count=F("failure_count") + 1)
        limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
        if webhooks.filter(failure_count__gte=limit).exists():
            _disable(delivery.webhook, reason=f"{limit} deliveries in a row failed")
    if delay is not None and delay <= COUNTDOWN_MAX_SECONDS:
        transaction.on_commit(partial(deliveries_enqueue, delivery_ids=[delivery.pk], countdown=delay), robust=True)
    return status


def _disable(webhook: Webhook, *, reason: str) -> None:
    """Turn the webhook off (once) and tell its owner."""
    if not Webhook.objects.filter(pk=webhook.pk, is_active=True).update(is_active=False, disabled_reason=reason):
        return
    notify_user(
        user_id=webhook.owner_id,
        kind=Notification.Kind.WEBHOOK_DISABLED,
        message=f"Your webhook to {webhook.url} was disabled: {reason}. Fix the receiver, then re-activate it.",
    )
