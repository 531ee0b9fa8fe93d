"""Who hears about what: the notification rows written when tasks and comments announce a change.

Every notification is stored first; its email is handed to Celery only after the
transaction commits, through the outbox (`notifications.outbox`).
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import Department, User
from tasks.events import UPDATED_FIELDS
from tasks.models import Task
from tasks.selectors import task_assignee_ids, task_audience

from .events import notifications_created
from .models import Notification, NotificationPreference
from .outbox import notification_emails_enqueue

# Still reachable here, where callers found it before the outbox had a module of its own.
from .outbox import notification_outbox_sweep as notification_outbox_sweep


def _name(user: User) -> str:
    return user.name or user.email


def _quote(title: str) -> str:
    return f"“{Truncator(title).chars(120)}”"


def _assignee_ids_q(task: Task) -> Q:
    return Q(id__in=task_assignee_ids(task_ids=[task.id]))


# (user id, their stored email choices, their stored in-app choices); None: no preferences row.
Recipient = tuple[int, dict | None, dict | None]
PREFERENCE_COLUMNS = ("notification_preferences__email", "notification_preferences__in_app")


def _recipients(audience: Q, *, exclude: User | None) -> list[Recipient]:
    """Active users matching `audience` (never `exclude`, the one who acted), each once, with
    their preferences joined in the same query."""
    users = User.objects.filter(audience, is_active=True)
    if exclude is not None:
        users = users.exclude(id=exclude.id)
    return list(users.order_by("id").values_list("id", *PREFERENCE_COLUMNS))


def _preferences_of(user_ids: Iterable[int]) -> dict[int, tuple[dict, dict]]:
    """{user id: (email choices, in-app choices)} of those who stored any, in one query."""
    rows = NotificationPreference.objects.filter(user_id__in=set(user_ids)).values_list("user_id", "email", "in_app")
    return {user_id: (email, in_app) for user_id, email, in_app in rows}


def _delivered(notification: Notification, *, email: dict | None, in_app: dict | None) -> Notification | None:
    """The notification as the recipient's preferences for its kind want it: shown in the app
    or not, emailed or not (then its email is `skipped`); None when they want neither."""
    wants_in_app = NotificationPreference.wants(in_app, notification.kind)
    wants_email = NotificationPreference.wants(email, notification.kind)
    if not (wants_in_app or wants_email):
        return None
    notification.in_app = wants_in_app
    if not wants_email:
        notification.email_status = Notification.EmailStatus.SKIPPED
    return notification


def notification_bulk_create(*, notifications: Sequence[Notification | None]) -> list[Notification]:
    """Store notifications in one INSERT and queue their emails once the transaction commits.

    None entries (nobody wants them) are dropped; emails turned off are stored as `skipped`
    and never queued.
    """
    notifications = [n for n in notifications if n is not None]
    if not notifications:
        return []
    created = Notification.objects.bulk_create(notifications)
    notifications_created.send(sender=Notification, notifications=created)
    emails = [n.id for n in created if n.email_status == Notification.EmailStatus.PENDING]
    if emails:
        # robust: whatever happens while queueing, the request that caused this has committed.
        transaction.on_commit(partial(notification_emails_enqueue, notification_ids=emails), robust=True)
    return created


def _notify(*, kind: str, task: Task, actor: User | None, message: str, recipients: Iterable[Recipient]):
    return notification_bulk_create(
        notifications=[
            _delivered(
                Notification(recipient_id=rid, kind=kind, task=task, actor=actor, message=message[:500]),
                email=email,
                in_app=in_app,
            )
            for rid, email, in_app in recipients
        ]
    )


def notify_task_created(*, task: Task, actor: User) -> list[Notification]:
    """The creator (even as the one who acted: seed 004 mails them their new task) and the
    department's designated manager."""
    audience = Q(id=task.creator_id)
    if task.department_id:
        audience |= Q(id__in=Department.objects.filter(id=task.department_id).values("manager_id"))
    recipients = _recipients(audience, exclude=None if actor.pk == task.creator_id else actor)
    title = _quote(task.title)
    return notification_bulk_create(
        notifications=[
            _delivered(
                Notification(
                    recipient_id=rid,
                    kind=Notification.Kind.CREATED,
                    task=task,
                    actor=actor,
                    message=(
                        f"You created the task {title}." if rid == actor.pk
                        else f"{_name(actor)} created the task {title}."
                    )[:500],
                ),
                email=email,
                in_app=in_app,
            )
            for rid, email, in_app in recipients
        ]
    )


def notify_task_updated(*, task: Task, actor: User, changed_fields: Iterable[str]) -> list[Notification]:
    """`changed_fields` as `tasks.events.task_updated` names them; any other name is not
    something a user changed and is left out of the message."""
    fields = [f for f in changed_fields if f in UPDATED_FIELDS]
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
        recipients=_recipients(Q(id=task.creator_id) | _assignee_ids_q(task), exclude=actor),
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
        recipients=_recipients(Q(id__in=ids), exclude=actor),
    )


def notify_task_commented(*, comment) -> list[Notification]:
    task, author = comment.task, comment.author
    excerpt = Truncator(" ".join(comment.content.split())).chars(160)
    return _notify(
        kind=Notification.Kind.COMMENTED,
        task=task,
        actor=author,
        message=f"{_name(author)} commented on {_quote(task.title)}: {excerpt}",
        recipients=_recipients(Q(id=task.creator_id) | _assignee_ids_q(task), exclude=author),
    )


def _notify_task_audience(*, pairs, kind: str, message_for) -> list[Notification]:
    """One `kind` notification per (task id, user id) pair, as each user's preferences allow."""
    preferences = _preferences_of(user_id for _, user_id in pairs)
    notifications = []
    for task_id, user_id in sorted(pairs):
        email, in_app = preferences.get(user_id, (None, None))
        notification = Notification(recipient_id=user_id, kind=kind, task_id=task_id, message=message_for(task_id))
        notifications.append(_delivered(notification, email=email, in_app=in_app))
    return notification_bulk_create(notifications=notifications)


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> list[Notification]:
    """Tell creator and assignees of each task that expiry just failed, in three queries."""
    return _notify_task_audience(
        pairs=task_audience(task_ids=task_titles, with_creators=True),
        kind=Notification.Kind.EXPIRED,
        message_for=lambda task_id: f"{_quote(task_titles[task_id])} passed its due date and is now failed.",
    )


def notify_tasks_due_soon(*, due_dates: Mapping[int, tuple[str, datetime]]) -> list[Notification]:
    """Remind the assignees of each task ({id: (title, due_date)}) of its due date, in three queries."""

    def message_for(task_id):
        title, due_date = due_dates[task_id]
        return f"{_quote(title)} is due on {timezone.localtime(due_date).strftime('%Y-%m-%d %H:%M %Z')}."

    return _notify_task_audience(
        pairs=task_audience(task_ids=due_dates, with_creators=False),
        kind=Notification.Kind.REMINDER,
        message_for=message_for,
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    # Reading twice keeps the first read time.
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(id=notification.id, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_preferences_update(*, user: User, changes: Mapping[str, Mapping[str, bool]]) -> NotificationPreference:
    """Merge `changes` ({channel: {kind: on}}, checked by the serializer) into the user's
    stored choices; kinds and channels not named keep theirs."""
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    for channel, kinds in changes.items():
        setattr(preference, channel, {**getattr(preference, channel), **kinds})
    preference.save()
    return preference
