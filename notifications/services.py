"""Who hears about what: notification rows, and the email outbox that mirrors them.

Every notification is stored first; its email is handed to Celery only after the
transaction commits. The row's `email_status` is the outbox state, so a broker outage or a
lost message never loses an email (the sweeper re-queues it) and a duplicated message never
sends one twice (a run must claim the row before sending).
"""

import logging
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import Truncator
from kombu.exceptions import OperationalError as BrokerError

from accounts.models import Department, User
from tasks.models import Task

from .models import Notification

logger = logging.getLogger(__name__)

# Network trouble worth retrying later; anything else (a template bug) will not heal itself.
RETRYABLE_EMAIL_ERRORS = (OSError, smtplib.SMTPException)

SWEEP_BATCH_SIZE = 1000

# Columns that change as a consequence of another change; naming them adds only noise.
DERIVED_FIELDS = {"updated_at", "priority_rank", "completed_at", "completed_late", "assigned_by"}


def _name(user: User) -> str:
    return user.name or user.email


def _quote(title: str) -> str:
    return f"“{Truncator(title).chars(120)}”"


def _assignee_ids_q(task_ids: Iterable[int]) -> Q:
    return Q(id__in=Task.assignees.through.objects.filter(task_id__in=task_ids).values("user_id"))


def _recipient_ids(audience: Q, *, actor: User | None) -> list[int]:
    """Active users matching `audience`, never the one who acted, each once."""
    users = User.objects.filter(audience, is_active=True)
    if actor is not None:
        users = users.exclude(id=actor.id)
    return list(users.order_by("id").values_list("id", flat=True))


def notification_bulk_create(*, notifications: Sequence[Notification]) -> list[Notification]:
    """Store notifications in one INSERT and queue their emails once the transaction commits."""
    if not notifications:
        return []
    created = Notification.objects.bulk_create(notifications)
    # robust: whatever happens while queueing, the request that caused this has committed.
    transaction.on_commit(
        partial(notification_emails_enqueue, notification_ids=[n.id for n in created]), robust=True
    )
    return created


def _notify(*, kind: str, task: Task, actor: User | None, message: str, recipient_ids: Iterable[int]):
    return notification_bulk_create(
        notifications=[
            Notification(recipient_id=rid, kind=kind, task=task, actor=actor, message=message[:500])
            for rid in recipient_ids
        ]
    )


def notify_task_created(*, task: Task, actor: User) -> list[Notification]:
    audience = Q(id=task.creator_id)
    if task.department_id:
        audience |= Q(id__in=Department.objects.filter(id=task.department_id).values("manager_id"))
    return _notify(
        kind=Notification.Kind.CREATED,
        task=task,
        actor=actor,
        message=f"{_name(actor)} created the task {_quote(task.title)}.",
        recipient_ids=_recipient_ids(audience, actor=actor),
    )


def notify_task_updated(*, task: Task, actor: User, changed_fields: Iterable[str]) -> list[Notification]:
    fields = [f for f in changed_fields if f not in DERIVED_FIELDS]
    if not fields:
        return []
    described = ", ".join(f.replace("_", " ") for f in fields)
    message = f"{_name(actor)} updated {_quote(task.title)}: {described}."
    if "status" in fields:
        message = f"{message} Status is now {task.get_status_display()}."
    return _notify(
        kind=Notification.Kind.UPDATED,
        task=task,
        actor=actor,
        message=message,
        recipient_ids=_recipient_ids(Q(id=task.creator_id) | _assignee_ids_q([task.id]), actor=actor),
    )


def notify_task_assigned(*, task: Task, actor: User, users: Iterable[User | int]) -> list[Notification]:
    """Tell each newly assigned user; `users` are only the new ones (callers diff the set)."""
    ids = {getattr(user, "pk", user) for user in users}
    if not ids:
        return []
    return _notify(
        kind=Notification.Kind.ASSIGNED,
        task=task,
        actor=actor,
        message=f"{_name(actor)} assigned you to {_quote(task.title)}.",
        recipient_ids=_recipient_ids(Q(id__in=ids), actor=actor),
    )


def notify_task_commented(*, comment) -> list[Notification]:
    task, author = comment.task, comment.author
    excerpt = Truncator(" ".join(comment.content.split())).chars(160)
    return _notify(
        kind=Notification.Kind.COMMENTED,
        task=task,
        actor=author,
        message=f"{_name(author)} commented on {_quote(task.title)}: {excerpt}",
        recipient_ids=_recipient_ids(Q(id=task.creator_id) | _assignee_ids_q([task.id]), actor=author),
    )


def _audience_pairs(task_ids: Sequence[int], *, with_creators: bool) -> set[tuple[int, int]]:
    """(task_id, user_id) for the active assignees (and creators) of many tasks, in one query."""
    pairs = (
        Task.assignees.through.objects.filter(task_id__in=task_ids, user__is_active=True)
        .order_by()
        .values_list("task_id", "user_id")
    )
    if with_creators:
        creators = (
            Task.all_objects.filter(id__in=task_ids, creator__is_active=True)
            .order_by()
            .values_list("id", "creator_id")
        )
        pairs = pairs.union(creators)
    return set(pairs)


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> list[Notification]:
    """Tell creator and assignees of each task that expiry just failed, in two queries."""
    pairs = _audience_pairs(list(task_titles), with_creators=True)
    return notification_bulk_create(
        notifications=[
            Notification(
                recipient_id=user_id,
                kind=Notification.Kind.EXPIRED,
                task_id=task_id,
                message=f"{_quote(task_titles[task_id])} passed its due date and is now failed.",
            )
            for task_id, user_id in sorted(pairs)
        ]
    )


def notify_tasks_due_soon(*, due_dates: Mapping[int, tuple[str, datetime]]) -> list[Notification]:
    """Remind the assignees of each task ({id: (title, due_date)}) of its due date, in two queries."""
    pairs = _audience_pairs(list(due_dates), with_creators=False)
    notifications = []
    for task_id, user_id in sorted(pairs):
        title, due_date = due_dates[task_id]
        when = timezone.localtime(due_date).strftime("%Y-%m-%d %H:%M %Z")
        notifications.append(
            Notification(
                recipient_id=user_id,
                kind=Notification.Kind.REMINDER,
                task_id=task_id,
                message=f"{_quote(title)} is due on {when}.",
            )
        )
    return notification_bulk_create(notifications=notifications)


def notification_mark_read(*, notification: Notification) -> Notification:
    # Reading twice keeps the first read time.
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(id=notification.id, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_emails_enqueue(*, notification_ids: Sequence[int]) -> int:
    """Hand one send task per notification to the broker; returns how many it accepted.

    A broker outage is logged and leaves the rows pending: the outbox sweeper queues them
    once the broker is back, so the request that created them still succeeds.
    """
    from .tasks import send_notification_email_task  # the tasks module imports this one

    queued = []
    try:
        with send_notification_email_task.app.producer_or_acquire() as producer:
            for notification_id in notification_ids:
                send_notification_email_task.apply_async((notification_id,), producer=producer)
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
    )
    email.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    return email


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
    notification = Notification.objects.select_related("recipient", "task", "actor").get(id=notification_id)
    # Only this claim's outcome is written, never over a later claim of the same row.
    mine = Notification.objects.filter(
        id=notification_id, email_status=Status.SENDING, email_claimed_at=claimed_at
    )
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
