"""Who hears about what: the notification rows written when tasks and comments announce a change.

Every notification is stored first; its email is handed to Celery only after the
transaction commits, through the outbox (`notifications.outbox`).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial

from django.db import router, transaction
from django.db.models import IntegerField, Q, Value
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import Department, User
from core import bulk
from tasks.events import UPDATED_FIELDS
from tasks.models import Task
from tasks.selectors import task_audience

from .events import notifications_created
from .models import Notification, NotificationPreference
from .outbox import notification_emails_enqueue

# Still reachable here, where callers found it before the outbox had a module of its own.
from .outbox import notification_outbox_sweep as notification_outbox_sweep


def _name(user: User) -> str:
    return user.name or user.email


def _quote(title: str) -> str:
    return f"“{Truncator(title).chars(120)}”"


# (user id, their stored email choices, their stored in-app choices); None: no preferences row.
Recipient = tuple[int, dict | None, dict | None]
PREFERENCES = ("notification_preferences__email", "notification_preferences__in_app")


def _recipients(audience: Q, *, exclude: User | None) -> list[Recipient]:
    """Active users matching `audience` (never `exclude`, the one who acted), each once, with
    their preferences joined in the same query."""
    users = User.objects.filter(audience, is_active=True)
    if exclude is not None:
        users = users.exclude(id=exclude.id)
    return list(users.order_by("id").values_list("id", *PREFERENCES))


def _task_audiences(*, task_ids: Iterable[int], with_creators: bool) -> dict[int, list[Recipient]]:
    """{task id: its active assignees (and creator), ordered by id, with their preferences}, in one query."""
    audiences = defaultdict(list)
    rows = task_audience(task_ids=task_ids, with_creators=with_creators, user_fields=PREFERENCES)
    for task_id, *recipient in sorted(rows, key=lambda row: row[:2]):
        audiences[task_id].append(tuple(recipient))
    return audiences


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
    # One INSERT whatever the count (core.bulk: an expiry sweep stores tens of thousands).
    created = bulk.insert(notifications, using=router.db_for_write(Notification))
    notifications_created.send(sender=Notification, notifications=created)
    emails = [n.id for n in created if n.email_status == Notification.EmailStatus.PENDING]
    if emails:
        # robust: whatever happens while queueing, the request that caused this has committed.
        transaction.on_commit(partial(notification_emails_enqueue, notification_ids=emails), robust=True)
    return created


def _notify(
    *, kind: str, actor: User | None, deliveries: Iterable[tuple[Recipient, Task | int, str]]
) -> list[Notification]:
    """`kind` for each (recipient, task, message), as each recipient's preferences want it (see
    _delivered), in one INSERT. The task is a Task (kept on the row, so readers of the new rows
    need no query) or an id."""
    notifications = []
    for (recipient_id, email, in_app), task, message in deliveries:
        about = {"task": task} if isinstance(task, Task) else {"task_id": task}
        notification = Notification(recipient_id=recipient_id, kind=kind, actor=actor, message=message[:500], **about)
        notifications.append(_delivered(notification, email=email, in_app=in_app))
    return notification_bulk_create(notifications=notifications)


def _notify_audiences(
    *, kind: str, messages: Sequence[tuple[Task | int, str]], actor: User | None, with_creators: bool
) -> list[Notification]:
    """For each (task, message), `kind` to the task's active assignees (and creator) but the
    actor, as each one's preferences allow: two queries however many tasks and people."""
    if not messages:
        return []
    task_ids = [getattr(task, "pk", task) for task, _ in messages]
    audiences = _task_audiences(task_ids=task_ids, with_creators=with_creators)
    return _notify(
        kind=kind,
        actor=actor,
        deliveries=(
            (recipient, task, message)
            for task, message in messages
            for recipient in audiences.get(getattr(task, "pk", task), ())
            if actor is None or recipient[0] != actor.pk
        ),
    )


def _creators_and_managers(tasks: Sequence[Task]) -> tuple[dict[int, Recipient], dict[int, Recipient]]:
    """({creator id: recipient}, {department id: its designated manager}) over the tasks, active
    users only, with their preferences: one query."""
    creators = (
        User.objects.filter(id__in={task.creator_id for task in tasks}, is_active=True)
        .order_by()
        .values_list("id", Value(None, output_field=IntegerField()), *PREFERENCES)
    )
    department_ids = {task.department_id for task in tasks if task.department_id}
    if department_ids:
        managers = (
            Department.objects.filter(id__in=department_ids, manager__is_active=True)
            .order_by()
            .values_list("manager_id", "id", *(f"manager__{name}" for name in PREFERENCES))
        )
        creators = creators.union(managers, all=True)
    people, managers_of = {}, {}
    for user_id, managed, *preferences in creators:
        (people if managed is None else managers_of)[managed or user_id] = (user_id, *preferences)
    return people, managers_of


def notify_tasks_created(*, tasks: Sequence[Task], actor: User) -> list[Notification]:
    """Each task's creator (even as the one who acted: seed 004 mails them their new task) and
    its department's designated manager, in two queries however many tasks."""
    if not tasks:
        return []
    creators, managers = _creators_and_managers(tasks)
    deliveries = []
    for task in tasks:
        exclude = None if actor.pk == task.creator_id else actor.pk
        audience = {
            recipient[0]: recipient
            for recipient in (creators.get(task.creator_id), managers.get(task.department_id))
            if recipient is not None and recipient[0] != exclude
        }
        title = _quote(task.title)
        deliveries += [
            (audience[rid], task, f"{'You' if rid == actor.pk else _name(actor)} created the task {title}.")
            for rid in sorted(audience)
        ]
    return _notify(kind=Notification.Kind.CREATED, actor=actor, deliveries=deliveries)


def _update_message(task: Task, actor: User, changed_fields: Iterable[str]) -> str | None:
    """`changed_fields` as `tasks.events.tasks_updated` names them; any other name is not
    something a user changed and is left out. None when nothing is left."""
    fields = [f for f in changed_fields if f in UPDATED_FIELDS]
    if not fields:
        return None
    described = ", ".join(f.replace("_", " ") for f in fields)
    message = f"{_name(actor)} updated {_quote(task.title)}: {described}."
    if "status" in fields:
        message = f"{message} Status is now {task.get_status_display()}."
    return message


def notify_tasks_updated(*, changes: Sequence[tuple[Task, Iterable[str]]], actor: User) -> list[Notification]:
    """Creator and assignees of each changed task but the actor, in two queries however many tasks."""
    messages = [(task, message) for task, fields in changes if (message := _update_message(task, actor, fields))]
    return _notify_audiences(kind=Notification.Kind.UPDATED, messages=messages, actor=actor, with_creators=True)


def notify_tasks_assigned(
    *, assignments: Sequence[tuple[Task, Iterable[User | int]]], actor: User
) -> list[Notification]:
    """Tell each newly assigned user of each task (callers diff the sets), in two queries."""
    wanted = [(task, {getattr(user, "pk", user) for user in users}) for task, users in assignments]
    everyone = set().union(*(ids for _, ids in wanted))
    if not everyone:
        return []
    recipients = {recipient[0]: recipient for recipient in _recipients(Q(id__in=everyone), exclude=actor)}
    return _notify(
        kind=Notification.Kind.ASSIGNED,
        actor=actor,
        deliveries=(
            (recipients[rid], task, f"{_name(actor)} assigned you to {_quote(task.title)}.")
            for task, ids in wanted
            for rid in sorted(ids)
            if rid in recipients
        ),
    )


def notify_task_commented(*, comment) -> list[Notification]:
    task, author = comment.task, comment.author
    excerpt = Truncator(" ".join(comment.content.split())).chars(160)
    return _notify_audiences(
        kind=Notification.Kind.COMMENTED,
        messages=[(task, f"{_name(author)} commented on {_quote(task.title)}: {excerpt}")],
        actor=author,
        with_creators=True,
    )


def notify_tasks_expired(*, task_titles: Mapping[int, str]) -> list[Notification]:
    """Tell creator and assignees of each task that expiry just failed, in two queries."""
    return _notify_audiences(
        kind=Notification.Kind.EXPIRED,
        messages=[
            (task_id, f"{_quote(title)} passed its due date and is now failed.")
            for task_id, title in sorted(task_titles.items())
        ],
        actor=None,
        with_creators=True,
    )


def notify_tasks_due_soon(*, due_dates: Mapping[int, tuple[str, datetime]]) -> list[Notification]:
    """Remind the assignees of each task ({id: (title, due_date)}) of its due date, in two queries."""
    return _notify_audiences(
        kind=Notification.Kind.REMINDER,
        messages=[
            (task_id, f"{_quote(title)} is due on {timezone.localtime(due).strftime('%Y-%m-%d %H:%M %Z')}.")
            for task_id, (title, due) in sorted(due_dates.items())
        ],
        actor=None,
        with_creators=False,
    )


def notify_user(*, user_id: int, kind: str, message: str) -> list[Notification]:
    """One notification about no task, for one user, as their preferences for `kind` allow
    (apps above this one call it, e.g. webhooks when it disables a webhook)."""
    stored = NotificationPreference.objects.filter(user_id=user_id).values_list("email", "in_app").first()
    email, in_app = stored or (None, None)
    notification = Notification(recipient_id=user_id, kind=kind, message=message[:500])
    return notification_bulk_create(notifications=[_delivered(notification, email=email, in_app=in_app)])


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
