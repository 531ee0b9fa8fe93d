"""The webhooks app listening to the apps below it; connected in WebhooksConfig.ready.

Each receiver turns one signal (a list of tasks, a comment, a finished execution) into
delivery rows in a fixed number of queries, whatever the number of objects and webhooks:
the webhooks listening (one query), what their owners may see (one), the objects rendered
once each as the API shows them, one INSERT.
"""

from collections.abc import Collection, Mapping

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from comments.events import comment_created
from comments.models import Comment
from comments.serializers import CommentSerializer
from core.signals import connect_receivers
from task_api.events import execution_finished
from task_api.models import TaskExecution
from task_api.serializers import ExecutionSerializer
from tasks.events import tasks_assigned, tasks_created, tasks_expired, tasks_updated
from tasks.models import Task
from tasks.selectors import tasks_for_rendering
from tasks.serializers import TaskSerializer

from .models import Webhook
from .outbox import deliveries_create
from .selectors import forget_listeners, visible_task_ids_by_owner, webhooks_listening

EXECUTION_EVENTS = {
    TaskExecution.Status.SUCCESS: "execution.succeeded",
    TaskExecution.Status.FAILURE: "execution.failed",
    TaskExecution.Status.REVOKED: "execution.revoked",
}


def _absolute(data: dict) -> dict:
    # Outside a request the serializers answer paths; a receiver needs the whole URL.
    url = data.get("url")
    if isinstance(url, str) and url.startswith("/"):
        data["url"] = settings.SITE_URL.rstrip("/") + url
    return data


def render_tasks(task_ids: Collection[int]) -> dict[int, dict]:
    """{task id: the task as the API's list shows it}, rendered once for every webhook."""
    serializer = TaskSerializer()
    return {task.id: _absolute(serializer.to_representation(task)) for task in tasks_for_rendering(task_ids=task_ids)}


def record_task_events(events: Mapping[str, Collection[int]]) -> int:
    """Deliveries of {event: task ids} to every webhook listening whose owner may see the task."""
    events = {event: set(ids) for event, ids in events.items() if ids}
    if not events:
        return 0
    hooks = webhooks_listening(list(events))
    if not hooks:
        return 0
    owners = {hook.owner_id: hook.owner for hook in hooks}
    visible = visible_task_ids_by_owner(owners=owners.values(), task_ids=set().union(*events.values()))
    wanted = [
        (hook.id, event, task_id)
        for event, task_ids in events.items()
        for hook in hooks
        if event in hook.events
        for task_id in sorted(task_ids & visible.get(hook.owner_id, set()))
    ]
    if not wanted:
        return 0
    data = render_tasks({task_id for _, _, task_id in wanted})
    return len(deliveries_create(items=[(hook_id, event, data[task_id]) for hook_id, event, task_id in wanted
                                        if task_id in data]))


def on_tasks_created(sender, *, tasks, **kwargs) -> None:
    record_task_events({"task.created": [task.id for task in tasks]})


def on_tasks_updated(sender, *, changes, **kwargs) -> None:
    # Completed: the status changed to done (sent besides task.updated).
    completed = [task.id for task, fields in changes if "status" in fields and task.status == Task.Status.DONE]
    record_task_events({"task.updated": [task.id for task, _ in changes], "task.completed": completed})


def on_tasks_assigned(sender, *, assignments, **kwargs) -> None:
    record_task_events({"task.assigned": [task.id for task, _ in assignments]})


def on_tasks_expired(sender, *, task_titles, **kwargs) -> None:
    record_task_events({"task.expired": list(task_titles)})


def on_comment_created(sender, *, comment, **kwargs) -> None:
    hooks = webhooks_listening(["comment.created"])
    if not hooks:
        return
    owners = {hook.owner_id: hook.owner for hook in hooks}
    visible = visible_task_ids_by_owner(owners=owners.values(), task_ids=[comment.task_id])
    hook_ids = [hook.id for hook in hooks if comment.task_id in visible.get(hook.owner_id, ())]
    if hook_ids:
        data = CommentSerializer(comment).data
        deliveries_create(items=[(hook_id, "comment.created", data) for hook_id in hook_ids])


def on_execution_finished(sender, *, execution_id, status, user_id, **kwargs) -> None:
    event = EXECUTION_EVENTS.get(status)
    if event is None:
        return
    # Executions are private to their owner: only the owner's webhooks hear of them.
    hooks = webhooks_listening([event], owner_ids=[user_id])
    execution = TaskExecution.objects.filter(pk=execution_id).first() if hooks else None
    if execution is not None:
        data = ExecutionSerializer(execution).data
        deliveries_create(items=[(hook.id, event, data) for hook in hooks])


def on_webhook_changed(sender, **kwargs) -> None:
    forget_listeners()


def connect() -> None:
    connect_receivers(
        "webhooks",
        [
            (post_save, on_webhook_changed, Webhook),
            (post_delete, on_webhook_changed, Webhook),
            (tasks_created, on_tasks_created, Task),
            (tasks_updated, on_tasks_updated, Task),
            (tasks_assigned, on_tasks_assigned, Task),
            (tasks_expired, on_tasks_expired, Task),
            (comment_created, on_comment_created, Comment),
            (execution_finished, on_execution_finished, TaskExecution),
        ],
    )
