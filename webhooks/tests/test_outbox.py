"""Sending attempts in process against a real HTTP receiver on 127.0.0.1: signature, retries,
disabling, the claim, the SSRF check at send time, and the sweeper."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from webhooks.models import WebhookDelivery
from webhooks.outbox import deliveries_sweep, delivery_attempt
from webhooks.signing import verify

from .factories import DeliveryFactory, WebhookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(receiver):
    webhook = WebhookFactory(url=receiver.url)
    return DeliveryFactory(webhook=webhook, event="task.created", next_attempt_at=timezone.now())


def make_due(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_an_attempt_posts_the_signed_body_with_the_headers(receiver, delivery, queued):
    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    [request] = receiver.requests
    headers = request["headers"]
    assert request["path"] == "/hook"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Taskhub-Webhooks/")
    assert (headers["X-Taskhub-Event"], headers["X-Taskhub-Delivery"]) == ("task.created", str(delivery.id))
    assert verify(delivery.webhook.secret, request["body"], headers["X-Taskhub-Timestamp"],
                  headers["X-Taskhub-Signature"])
    assert receiver.bodies() == [delivery.payload]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.claimed_at) == (
        "succeeded", 1, 200, None)
    assert delivery.duration_ms is not None and delivery.next_attempt_at is None
    assert delivery.webhook.__class__.objects.get().last_delivery_at is not None
    # Done: a repeated message finds nothing to send.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1


def test_a_failure_is_retried_after_the_backoff_with_the_same_id_and_body(receiver, delivery, queued, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_DELAYS = [60, 300]
    receiver.statuses = [500]
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_attempt(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status) == (1, 500)
    assert "500" in delivery.last_error
    assert before + timedelta(seconds=60) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=66)
    # The retry is queued with its countdown (60 s plus up to 10% jitter).
    [(queued_id, countdown)] = queued
    assert queued_id == str(delivery.pk) and 60 <= countdown <= 66
    # Not due yet: an early message sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk) is None

    make_due(delivery)
    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    first, second = receiver.requests
    assert first["headers"]["X-Taskhub-Delivery"] == second["headers"]["X-Taskhub-Delivery"] == str(delivery.id)
    assert first["body"] == second["body"]


def test_after_the_last_retry_the_delivery_fails_and_counts_against_the_webhook(receiver, delivery, queued, settings):
    settings.WEBHOOK_RETRY_DELAYS = [1]
    receiver.statuses = [503, 503]

    assert delivery_attempt(delivery_id=delivery.pk) == "pending"
    make_due(delivery)
    assert delivery_attempt(delivery_id=delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    delivery.webhook.refresh_from_db()
    assert (delivery.webhook.failure_count, delivery.webhook.is_active) == (1, True)


def test_a_success_resets_the_failure_count(receiver, delivery):
    delivery.webhook.__class__.objects.update(failure_count=7)

    delivery_attempt(delivery_id=delivery.pk)

    delivery.webhook.refresh_from_db()
    assert delivery.webhook.failure_count == 0


def test_the_fiftieth_failed_delivery_in_a_row_disables_the_webhook_and_tells_the_owner(receiver, delivery, settings):
    settings.WEBHOOK_RETRY_DELAYS = []
    delivery.webhook.__class__.objects.update(failure_count=49)
    receiver.statuses = [500]

    assert delivery_attempt(delivery_id=delivery.pk) == "failed"

    webhook = delivery.webhook.__class__.objects.get()
    assert (webhook.is_active, webhook.failure_count) == (False, 50)
    assert "50 deliveries in a row failed" in webhook.disabled_reason
    [notification] = Notification.objects.filter(recipient=webhook.owner)
    assert notification.kind == "webhook_disabled" and webhook.url in notification.message


def test_a_410_disables_the_webhook_at_once_and_notifies_the_owner_once(receiver, delivery, queued):
    other = DeliveryFactory(webhook=delivery.webhook, next_attempt_at=timezone.now())
    receiver.statuses = [410]

    assert delivery_attempt(delivery_id=delivery.pk) == "failed"
    # Later deliveries of the disabled webhook fail without a request.
    assert delivery_attempt(delivery_id=other.pk) == "failed"

    assert len(receiver.requests) == 1
    webhook = delivery.webhook.__class__.objects.get()
    assert not webhook.is_active and "410" in webhook.disabled_reason
    assert Notification.objects.filter(recipient=webhook.owner, kind="webhook_disabled").count() == 1
    other.refresh_from_db()
    assert other.last_error == "The webhook is disabled."


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver, delivery, queued):
    receiver.statuses = [302]

    assert delivery_attempt(delivery_id=delivery.pk) == "pending"

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.response_status == 302


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(receiver, delivery, queued, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    receiver.on_request = lambda request: time.sleep(1)

    assert delivery_attempt(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert delivery.response_status is None
    assert "Timeout" in delivery.last_error or "timed out" in delivery.last_error


def test_the_guard_is_checked_again_at_send_time_and_no_request_is_made(receiver, delivery, queued, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    assert delivery_attempt(delivery_id=delivery.pk) == "pending"

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Not sent: The host '127.0.0.1' resolves to 127.0.0.1")


def test_a_claimed_delivery_is_not_sent_again_until_its_claim_is_stale(receiver, delivery, settings):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())

    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert receiver.requests == []

    stale = timezone.now() - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT + 1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=stale)
    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert len(receiver.requests) == 1


def test_an_outcome_is_not_recorded_by_a_run_that_lost_its_claim(delivery, monkeypatch):
    from webhooks import network

    # Another run took the delivery over while this one was sending (its claim had gone stale).
    def taken_over(target, **kwargs):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() + timedelta(seconds=5))
        return network.Answer(status=200, duration_ms=3)

    monkeypatch.setattr(network, "post", taken_over)

    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.claimed_at is not None and delivery.response_status is None


def test_the_sweeper_queues_overdue_and_abandoned_deliveries_only(queued, settings):
    now = timezone.now()
    settings.WEBHOOK_SWEEP_AFTER = 30
    webhook = WebhookFactory()
    overdue = DeliveryFactory(webhook=webhook, next_attempt_at=now - timedelta(seconds=31))
    abandoned = DeliveryFactory(webhook=webhook, next_attempt_at=now - timedelta(hours=1),
                                claimed_at=now - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT + 1))
    DeliveryFactory(webhook=webhook, next_attempt_at=now - timedelta(seconds=5))  # its message is on its way
    DeliveryFactory(webhook=webhook, next_attempt_at=now + timedelta(minutes=5))  # a retry not due yet
    DeliveryFactory(webhook=webhook, next_attempt_at=now - timedelta(hours=1), claimed_at=now)  # being sent
    DeliveryFactory(webhook=webhook, next_attempt_at=None, status="succeeded")

    assert deliveries_sweep(now=now) == 2

    assert {delivery_id for delivery_id, _ in queued} == {str(overdue.pk), str(abandoned.pk)}


def test_the_purge_deletes_finished_deliveries_past_the_retention_only(settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    webhook = WebhookFactory()
    for status in ("succeeded", "failed", "pending"):
        DeliveryFactory(webhook=webhook, status=status)
    WebhookDelivery.objects.update(created_at=old)
    recent = DeliveryFactory(webhook=webhook, status="succeeded")

    from webhooks.outbox import deliveries_purge

    assert deliveries_purge() == 2

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending", "succeeded"}
    assert WebhookDelivery.objects.filter(pk=recent.pk).exists()
