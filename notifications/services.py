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

from .models import Notification
from .outbox import notification_emails_enqueue

# Still reachable here, where callers found it before the outbox had a module of its own.
from .outbox import notification_outbox_sweep as notification_outbox_sweep


def _name(user: User) -> str:
    return user.name or user.email


def _quote(title: str) -> str:
    return f"“{Truncator(title).chars(120)}”"


def _assignee_ids_q(task: Task) -> Q:
    return Q(id__in=task_assignee_ids(task_ids=[task.id]))


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
        recipient_ids=_recipient_ids(Q(id=task.creator_id) | _assignee_ids_q(task), actor=actor),
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
        recipient_ids=_recipient_ids(Q(id=task.creator_id) | _assignee_ids_q(task), actor=author),
    )


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> list[Notification]:
    """Tell creator and assignees of each task that expiry just failed, in two queries."""
    pairs = task_audience(task_ids=task_titles, with_creators=True)
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
    pairs = task_audience(task_ids=due_dates, with_creators=False)
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
