"""The email outbox: every notification row is also the outbox entry of its email.

A row's `email_status` is the outbox state, so a broker outage or a lost message never
loses an email (the sweeper re-queues it) and a duplicated message never sends one twice
(a run must claim the row before sending). Rows are queued only after their transaction
commits (see `services.notification_bulk_create`).
"""

import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import Truncator
from kombu.exceptions import OperationalError as BrokerError

from .models import Notification, NotificationPreference

logger = logging.getLogger(__name__)

# Network trouble worth retrying later; anything else (a template bug) will not heal itself.
RETRYABLE_EMAIL_ERRORS = (OSError, smtplib.SMTPException)

SWEEP_BATCH_SIZE = 1000

# The registered name of the send task (notifications.tasks), which imports this module: the
# outbox looks the task up by name instead of importing it back.
SEND_EMAIL_TASK = "notifications.tasks.send_notification_email_task"


def notification_emails_enqueue(*, notification_ids: Sequence[int]) -> int:
    """Hand one send task per notification to the broker; returns how many it accepted.

    A broker outage is logged and leaves the rows pending: the outbox sweeper queues them
    once the broker is back, so the request that created them still succeeds.
    """
    send_task = current_app.tasks[SEND_EMAIL_TASK]
    queued = []
    try:
        with send_task.app.producer_or_acquire() as producer:
            for notification_id in notification_ids:
                send_task.apply_async((notification_id,), producer=producer)
                queued.append(notification_id)
    except (BrokerError, OSError):
        logger.warning(
            "Broker unavailable: %d notification email(s) left in the outbox for the sweeper",
            len(notification_ids) - len(queued),
            exc_info=True,
        )
    if queued:
        Notification.objects.filter(id__in=queued, email_status=Notification.EmailStatus.PENDING).update(
            email_queued_at=timezone.now()
        )
    return len(queued)


def _outbox_due(now: datetime) -> QuerySet[Notification]:
    never_queued = Q(
        email_queued_at__isnull=True,
        created_at__lte=now - timedelta(seconds=settings.NOTIFICATION_EMAIL_SWEEP_AFTER),
    )
    # Queued long ago but still pending: the message was lost (e.g. Redis restarted empty).
    lost = Q(email_queued_at__lte=now - timedelta(seconds=settings.NOTIFICATION_EMAIL_REQUEUE_AFTER))
    return Notification.objects.filter(never_queued | lost, email_status=Notification.EmailStatus.PENDING)


def _outbox_abandoned(now: datetime) -> QuerySet[Notification]:
    """Rows claimed by a run that cannot be alive any more: its worker died mid-send.

    Every run ends within the hard time limit (the worker kills it), so a claim older than
    NOTIFICATION_EMAIL_CLAIM_TIMEOUT (that limit plus a margin) is nobody's. A claim from
    before claims were timed (null) counts from the row's creation.
    """
    cutoff = now - timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT)
    return Notification.objects.filter(
        Q(email_claimed_at__lte=cutoff) | Q(email_claimed_at__isnull=True, created_at__lte=cutoff),
        email_status=Notification.EmailStatus.SENDING,
    )


def outbox_stuck(*, now: datetime | None = None) -> QuerySet[Notification]:
    """Emails past their window (staff dashboard): pending but never queued or lost on the way,
    or left `sending` by a dead worker. The sweeper retries these; still here means it could not."""
    now = now or timezone.now()
    return _outbox_due(now) | _outbox_abandoned(now)


def notification_outbox_sweep(*, now: datetime | None = None) -> int:
    """Queue the emails whose send task never reached the broker (or got lost on the way),
    and those a dead worker left claimed.

    A worker that died after the mail server took the message but before marking the row
    sent makes that email go out twice: delivery is at least once after a crash, and
    exactly once otherwise (a live run's claim is never taken from it).
    """
    now = now or timezone.now()
    _outbox_abandoned(now).update(
        email_status=Notification.EmailStatus.PENDING,
        email_queued_at=None,
        email_error="Re-queued: the run that claimed it never finished (worker lost).",
    )
    ids = list(_outbox_due(now).order_by("id").values_list("id", flat=True)[:SWEEP_BATCH_SIZE])
    return notification_emails_enqueue(notification_ids=ids) if ids else 0


def notification_email_requeue(*, notifications: QuerySet[Notification]) -> int:
    """Admin: send again the emails that failed for good (or were stuck mid-send)."""
    ids = list(
        notifications.exclude(email_status=Notification.EmailStatus.SENT).values_list("id", flat=True)
    )
    Notification.objects.filter(id__in=ids).update(
        email_status=Notification.EmailStatus.PENDING, email_queued_at=None, email_error=""
    )
    transaction.on_commit(partial(notification_emails_enqueue, notification_ids=ids), robust=True)
    return len(ids)


def notification_message_id(notification_id: int) -> str:
    """The email's Message-ID, the same at every send of one notification: delivery is at
    least once after a worker crash (see notification_outbox_sweep), and a repeat carries the
    id of the first, so a mail client or the receiving server can drop it."""
    host = urlsplit(settings.SITE_URL).hostname or "taskhub.local"
    return f"<notification-{notification_id}@{host}>"


def _email_for(notification: Notification) -> EmailMultiAlternatives:
    task = notification.task
    site = settings.SITE_URL.rstrip("/")
    context = {
        "notification": notification,
        "recipient": notification.recipient,
        "task": task,
        "task_url": f"{site}/api/v1/tasks/{task.id}/" if task else f"{site}/api/v1/notifications/",
    }
    subject = f"[Taskhub] {notification.get_kind_display()}"
    if task:
        subject = f"{subject}: {task.title}"
    # A title may hold a newline, which is not allowed in a mail header.
    subject = Truncator(" ".join(subject.split())).chars(150)
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notifications/email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={"Message-ID": notification_message_id(notification.id)},
    )
    email.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    return email


def _recipient_wants_email(notification: Notification) -> bool:
    try:
        stored = notification.recipient.notification_preferences.email
    except ObjectDoesNotExist:
        stored = None
    return NotificationPreference.wants(stored, notification.kind)


def notification_email_send(*, notification_id: int, final_attempt: bool = True) -> bool:
    """Send one notification's email, at most once; False when there is nothing to do.

    The conditional claim (pending -> sending) means a second run of the same message,
    or a sweeper duplicate, finds the row taken and stops. A retryable failure hands the
    row back as pending for the next attempt; the last attempt marks it failed.
    """
    Status = Notification.EmailStatus
    claimed_at = timezone.now()
    claimed = Notification.objects.filter(id=notification_id, email_status=Status.PENDING).update(
        email_status=Status.SENDING, email_attempts=F("email_attempts") + 1, email_claimed_at=claimed_at
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related(
        "recipient", "recipient__notification_preferences", "task", "actor"
    ).get(id=notification_id)
    # Only this claim's outcome is written, never over a later claim of the same row.
    mine = Notification.objects.filter(
        id=notification_id, email_status=Status.SENDING, email_claimed_at=claimed_at
    )
    if not _recipient_wants_email(notification):
        # Turned off after the row was written (or while it waited for a retry).
        mine.update(email_status=Status.SKIPPED)
        return False
    try:
        _email_for(notification).send()
    except Exception as exc:
        retry = isinstance(exc, RETRYABLE_EMAIL_ERRORS) and not final_attempt
        mine.update(
            email_status=Status.PENDING if retry else Status.FAILED,
            email_queued_at=timezone.now() if retry else F("email_queued_at"),
            email_error=f"{type(exc).__name__}: {exc}"[:500],
        )
        raise
    mine.update(email_status=Status.SENT, email_sent_at=timezone.now(), email_error="")
    return True
