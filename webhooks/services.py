"""Writes on webhooks: create, change, delete, rotate the secret, ping, redeliver."""

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from core.exceptions import Conflict

from . import network
from .models import Webhook, WebhookDelivery
from .outbox import deliveries_create, deliveries_enqueue_on_commit, unclaimed_q
from .signing import new_secret


def _checked_url(url: str) -> str:
    """The URL if it passes the SSRF guard now (its host resolves to public addresses only)."""
    try:
        network.resolve(url)
    except network.UnsafeURL as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


@transaction.atomic
def webhook_create(*, owner: User, url: str, events: Sequence[str], is_active: bool = True) -> Webhook:
    """A new webhook with a fresh secret; 409 past WEBHOOK_MAX_PER_USER."""
    # The owner's row is the lock: two concurrent creates cannot both pass the count.
    User.objects.select_for_update().filter(pk=owner.pk).values_list("pk").get()
    limit = settings.WEBHOOK_MAX_PER_USER
    if Webhook.objects.filter(owner=owner).count() >= limit:
        raise Conflict(f"You already have {limit} webhooks, the most a user may have; delete one first.")
    return Webhook.objects.create(
        owner=owner, url=_checked_url(url), events=list(events), is_active=is_active, secret=new_secret()
    )


@transaction.atomic
def webhook_update(
    *, webhook: Webhook, url: str | None = None, events: Sequence[str] | None = None, is_active: bool | None = None
) -> Webhook:
    """Change what is given; re-activating starts the failure count afresh."""
    if url is not None and url != webhook.url:
        webhook.url = _checked_url(url)
    if events is not None:
        webhook.events = list(events)
    if is_active is not None:
        if is_active and not webhook.is_active:
            webhook.failure_count = 0
            webhook.disabled_reason = ""
        webhook.is_active = is_active
    webhook.save(update_fields=["url", "events", "is_active", "failure_count", "disabled_reason"])
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret signs every attempt from now on (retries of older deliveries included)."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret"])
    return webhook


def _check_active(webhook: Webhook) -> None:
    if not webhook.is_active:
        raise Conflict("This webhook is disabled; re-activate it (PATCH is_active: true) first.")


@transaction.atomic
def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """Queue a `ping` delivery whose data is the webhook as the API shows it."""
    _check_active(webhook)
    data = {"id": webhook.id, "url": webhook.url, "events": webhook.events}
    [delivery] = deliveries_create(items=[(webhook.id, "ping", data)])
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """One more attempt of the same delivery (same id, same body), due now; 409 while an attempt
    is in flight or the webhook is disabled."""
    _check_active(delivery.webhook)
    now = timezone.now()
    idle = WebhookDelivery.objects.filter(unclaimed_q(now), pk=delivery.pk)
    if not idle.update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now):
        raise Conflict("An attempt of this delivery is being sent right now.")
    deliveries_enqueue_on_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def deliveries_redeliver(*, deliveries: QuerySet[WebhookDelivery]) -> int:
    """Staff's bulk redeliver (admin): every chosen delivery of an active webhook that is not
    being sent right now gets one more attempt, due now; returns how many."""
    now = timezone.now()
    chosen = list(
        deliveries.filter(unclaimed_q(now), webhook__is_active=True).order_by().values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(unclaimed_q(now), pk__in=chosen).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now
    )
    if chosen:
        deliveries_enqueue_on_commit(chosen)
    return len(chosen)
