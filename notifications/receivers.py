"""The notifications app listening to the apps below it; connected in NotificationsConfig.ready.

Each receiver looks its service up on the module when called (not bound at import), so
replacing a service (tests do) replaces what the signal reaches.
"""

from comments.events import comment_created
from comments.models import Comment
from core.signals import connect_receivers
from tasks.events import tasks_assigned, tasks_created, tasks_due_soon, tasks_expired, tasks_updated
from tasks.models import Task

from . import services


def on_tasks_created(sender, *, tasks, actor, **kwargs) -> None:
    services.notify_tasks_created(tasks=tasks, actor=actor)


def on_tasks_updated(sender, *, changes, actor, **kwargs) -> None:
    services.notify_tasks_updated(changes=changes, actor=actor)


def on_tasks_assigned(sender, *, assignments, actor, **kwargs) -> None:
    services.notify_tasks_assigned(assignments=assignments, actor=actor)


def on_tasks_expired(sender, *, task_titles, **kwargs) -> None:
    services.notify_tasks_expired(task_titles=task_titles)


def on_tasks_due_soon(sender, *, due_dates, **kwargs) -> None:
    services.notify_tasks_due_soon(due_dates=due_dates)


def on_comment_created(sender, *, comment, **kwargs) -> None:
    services.notify_task_commented(comment=comment)


def connect() -> None:
    connect_receivers(
        "notifications",
        [
            (tasks_created, on_tasks_created, Task),
            (tasks_updated, on_tasks_updated, Task),
            (tasks_assigned, on_tasks_assigned, Task),
            (tasks_expired, on_tasks_expired, Task),
            (tasks_due_soon, on_tasks_due_soon, Task),
            (comment_created, on_comment_created, Comment),
        ],
    )
