from django.conf import settings
from django.db import models


class Notification(models.Model):
    """An in-app notification for one user, and the outbox row of its email."""

    class Kind(models.TextChoices):
        CREATED = "created", "Task created"
        UPDATED = "updated", "Task updated"
        ASSIGNED = "assigned", "Task assigned"
        COMMENTED = "commented", "Task commented"
        EXPIRED = "expired", "Task expired"
        REMINDER = "reminder", "Due date reminder"
        # About no task: the webhooks app disabled one of the recipient's webhooks.
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"

    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        # Claimed by one worker run; no other run may send it.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Never sent: the recipient turned emails of this kind off.
        SKIPPED = "skipped", "Skipped (turned off)"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # Null when the system acted (expiry, reminders).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500)
    # False: the recipient turned in-app notifications of this kind off, so the row is only
    # the outbox entry of its email and the API never shows it.
    in_app = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    email_status = models.CharField(
        max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # When a send task was last handed to the broker; null means it never reached it.
    email_queued_at = models.DateTimeField(null=True, blank=True)
    # When the current run claimed it (pending -> sending). A claim older than any run can
    # live (NOTIFICATION_EMAIL_CLAIM_TIMEOUT) was left by a dead worker: the sweeper re-queues it.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_created_idx"),
            # Partial: the unread badge counts only a user's few unread rows.
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notif_unread_idx"
            ),
            # Partial: the outbox sweeper scans only rows whose email is not done.
            models.Index(
                fields=["email_status", "created_at"],
                condition=models.Q(email_status__in=["pending", "sending"]),
                name="notif_outbox_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient_id}: {self.message[:40]}"

    @property
    def is_read(self):
        return self.read_at is not None


class EmailOutbox(Notification):
    """The same rows seen as the email outbox: its own admin list, with the email's fields."""

    class Meta:
        proxy = True
        verbose_name = "outbox email"
        verbose_name_plural = "email outbox"


class NotificationPreference(models.Model):
    """Which kinds of notification a user gets, per channel; a kind not stored here is on."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        IN_APP = "in_app", "In-app"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    # {kind: bool} for the kinds the user set; a new kind is on until they turn it off.
    email = models.JSONField(default=dict, blank=True)
    in_app = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Notification preferences of {self.user_id}"

    @staticmethod
    def wants(stored: dict | None, kind: str) -> bool:
        """Whether a channel's stored choices (None: no row yet) let `kind` through."""
        return (stored or {}).get(kind, True) is not False
