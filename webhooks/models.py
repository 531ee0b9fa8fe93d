import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# What a webhook may subscribe to (SPEC §10), in the order the API documents them.
EVENTS = (
    "task.created",
    "task.updated",
    "task.assigned",
    "task.completed",
    "task.expired",
    "comment.created",
    "execution.succeeded",
    "execution.failed",
    "execution.revoked",
    "ping",
)

URL_MAX_LENGTH = 2000


class Webhook(models.Model):
    """A user's subscription: where to POST which events, and the secret that signs them."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=URL_MAX_LENGTH)
    # A non-empty list of names from EVENTS.
    events = models.JSONField()
    # Kept as issued: signing needs the secret itself, so it cannot be hashed like an API key.
    # It is shown once (on create and rotate) and never answered again.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that ended `failed` in a row (any success resets it); at
    # WEBHOOK_DISABLE_AFTER_FAILURES the webhook is disabled.
    failure_count = models.PositiveIntegerField(default=0)
    # Why it was disabled by the sender (410, failures); empty when active or turned off by its owner.
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="webhook_owner_created_idx")]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one webhook: the outbox row, and its log (attempts, last answer)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # The stable delivery id: X-Taskhub-Delivery and the body's `id`, the same on every attempt.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    # The body {id, event, created_at, data}; sent as compact JSON with sorted keys, so every
    # attempt sends (and signs) the same bytes.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # When a pending delivery is due (its first attempt, or its next retry).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while one worker sends an attempt (the claim); a claim older than
    # WEBHOOK_CLAIM_TIMEOUT belongs to a worker that died, and the sweeper sends it again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_list_idx"),
            # Partial: the sweeper scans only the pending rows, by due time.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.event} {self.id}"
