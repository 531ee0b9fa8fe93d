"""The live event log listening to the apps below it; connected in LiveConfig.ready.

Each receiver handles its whole list in a fixed number of queries: one INSERT of all its
events (plus the writer lock on PostgreSQL); a finished execution's signal carries what its
event shows.
"""

from django.db import transaction

from core.signals import connect_receivers
from notifications.events import notifications_created
from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from task_api.events import execution_finished
from task_api.models import TaskExecution
from tasks.events import tasks_assigned, tasks_updated
from tasks.models import Task

from .models import Event
from .services import events_record

# Set on a task instance whose `task.updated` this transaction already wrote, so the
# `tasks_assigned` that task_update sends right after it adds no second event.
_WRITTEN = "_live_updated_event"


def on_notifications_created(sender, *, notifications, **kwargs) -> None:
    """`notification.created` for each notification its recipient sees in the app."""
    shown = [n for n in notifications if n.in_app]
    # One serializer over the list: its fields are built once, not once per notification (an
    # expiry sweep stores tens of thousands).
    data = NotificationSerializer(shown, many=True).data
    events_record(
        events=[
            Event(kind=Event.Kind.NOTIFICATION_CREATED, user_id=n.recipient_id, data=item)
            for n, item in zip(shown, data, strict=True)
        ]
    )


def _task_updated(task: Task, changed_fields, actor) -> Event:
    return Event(
        kind=Event.Kind.TASK_UPDATED,
        task_id=task.pk,
        data={
            "id": task.pk,
            "title": task.title,
            "status": task.status,
            "changed_fields": sorted(changed_fields),
            "actor": actor.pk if actor is not None else None,
        },
    )


def _mark_written(task: Task) -> None:
    setattr(task, _WRITTEN, True)
    transaction.on_commit(lambda: task.__dict__.pop(_WRITTEN, None))


def on_tasks_updated(sender, *, changes, actor=None, **kwargs) -> None:
    events_record(events=[_task_updated(task, fields, actor) for task, fields in changes])
    for task, fields in changes:
        if "assignees" in fields:
            _mark_written(task)


def on_tasks_assigned(sender, *, assignments, actor=None, **kwargs) -> None:
    """New assignees change the task too: `task.updated` naming `assignees`."""
    events_record(
        events=[
            _task_updated(task, ["assignees"], actor)
            for task, _users in assignments
            if not task.__dict__.pop(_WRITTEN, False)
        ]
    )


def on_execution_finished(sender, *, execution_id, status, user_id, task_name, completed_at, **kwargs) -> None:
    """`execution.updated` for the execution's owner, with the values the finishing UPDATE wrote."""
    data = {"id": execution_id, "task_name": task_name, "status": status, "completed_at": completed_at}
    events_record(events=[Event(kind=Event.Kind.EXECUTION_UPDATED, user_id=user_id, data=data)])


def connect() -> None:
    connect_receivers(
        "live",
        [
            (notifications_created, on_notifications_created, Notification),
            (tasks_updated, on_tasks_updated, Task),
            (tasks_assigned, on_tasks_assigned, Task),
            (execution_finished, on_execution_finished, TaskExecution),
        ],
    )
