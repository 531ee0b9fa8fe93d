"""Which events become deliveries, for whom, with what data, and at what cost in queries."""

import pytest
from django.urls import reverse

from comments.services import comment_create
from task_api.models import TaskExecution
from task_api.services import execution_cancel, execution_mark_failed
from task_api.services.lifecycle import execution_failed, execution_revoked, execution_succeeded
from task_api.tests.factories import TaskExecutionFactory
from tasks.expiry import task_expire_overdue
from tasks.models import Task
from tasks.services import task_create, task_mark_done, task_update
from tasks.tests.factories import TaskFactory
from webhooks import receivers
from webhooks.models import EVENTS, WebhookDelivery

from .factories import WebhookFactory

pytestmark = pytest.mark.django_db


def delivered(webhook, event=None):
    rows = WebhookDelivery.objects.filter(webhook=webhook)
    if event:
        rows = rows.filter(event=event)
    return list(rows.order_by("created_at"))


@pytest.fixture
def hooks(people):
    """One webhook (every event) for each persona."""
    return {name: WebhookFactory(owner=user) for name, user in people.items() if hasattr(user, "role")}


def test_task_created_reaches_exactly_those_who_may_see_the_task(people, hooks, client_for):
    response = client_for(people["creator"]).post(
        reverse("task-list"), {"title": "Ship it", "assignees": [people["assignee"].id]}, format="json"
    )
    assert response.status_code == 201

    reached = {name for name, hook in hooks.items() if delivered(hook, "task.created")}
    assert reached == {"ceo", "hr", "manager", "creator", "assignee"}
    delivery = delivered(hooks["assignee"], "task.created")[0]
    # data: the task as the API shows it (the detail answer, but for its latest comments).
    shown = {k: v for k, v in response.json().items() if k != "latest_comments"}
    assert delivery.payload["data"] == shown | {"url": delivery.payload["data"]["url"]}
    assert delivery.payload["data"]["url"].endswith(f"/api/v1/tasks/{shown['id']}/")
    assert delivery.payload["data"]["url"].startswith("http")
    assert set(delivery.payload) == {"id", "event", "created_at", "data"}
    assert delivery.payload["id"] == str(delivery.id) and delivery.payload["event"] == "task.created"
    assert [d.event for d in delivered(hooks["assignee"])] == ["task.created", "task.assigned"]


def test_a_webhook_gets_only_the_events_it_subscribed_to_and_only_while_active(people):
    only_updates = WebhookFactory(owner=people["ceo"], events=["task.updated"])
    off = WebhookFactory(owner=people["ceo"], is_active=False)
    task = task_create(creator=people["creator"], title="T")

    task_update(task=task, by=people["creator"], title="T2")

    assert [d.event for d in delivered(only_updates)] == ["task.updated"]
    assert delivered(off) == []


def test_an_inactive_owner_gets_nothing(people):
    people["hr"].is_active = False
    people["hr"].save()
    hook = WebhookFactory(owner=people["hr"])

    task_create(creator=people["creator"], title="T")

    assert delivered(hook) == []


def test_completing_a_task_sends_task_completed_besides_task_updated(people, hooks):
    task = TaskFactory(creator=people["creator"])

    task_mark_done(task=task, by=people["creator"])

    assert sorted(d.event for d in delivered(hooks["creator"])) == ["task.completed", "task.updated"]
    assert delivered(hooks["creator"], "task.completed")[0].payload["data"]["status"] == "done"
    assert delivered(hooks["outsider"]) == []


def test_other_updates_send_no_task_completed(people, hooks):
    task = TaskFactory(creator=people["creator"])

    task_update(task=task, by=people["creator"], status=Task.Status.IN_PROGRESS)

    assert [d.event for d in delivered(hooks["creator"])] == ["task.updated"]


def test_expired_tasks_reach_those_who_see_them(people, hooks):
    from datetime import timedelta

    from django.utils import timezone

    task = TaskFactory(creator=people["creator"], due_date=timezone.now() - timedelta(minutes=1))

    assert task_expire_overdue() == 1

    expired = delivered(hooks["creator"], "task.expired")
    assert len(expired) == 1 and expired[0].payload["data"]["id"] == task.id
    assert expired[0].payload["data"]["status"] == "failed"
    assert delivered(hooks["outsider"]) == []
    assert delivered(hooks["other_manager"]) == []


def test_comment_created_follows_the_comments_task(people, hooks):
    task = TaskFactory(creator=people["creator"], assignees=[people["assignee"]])

    comment = comment_create(task=task, author=people["assignee"], content="Done soon")

    reached = {name for name, hook in hooks.items() if delivered(hook, "comment.created")}
    assert reached == {"ceo", "hr", "manager", "creator", "assignee"}
    data = delivered(hooks["creator"], "comment.created")[0].payload["data"]
    assert data == {"id": comment.id, "task": task.id, "author": people["assignee"].id, "content": "Done soon",
                    "created_at": data["created_at"]}


@pytest.mark.parametrize(
    "finish, event",
    [
        (lambda e: execution_succeeded(execution_id=str(e.pk), result={"sum": 3}), "execution.succeeded"),
        (lambda e: execution_failed(execution_id=str(e.pk), exception=ValueError("bad"), traceback="tb"),
         "execution.failed"),
        (lambda e: execution_revoked(celery_task_id=e.celery_task_id), "execution.revoked"),
    ],
)
def test_executions_reach_only_their_owners_webhooks(people, hooks, finish, event):
    execution = TaskExecutionFactory(user=people["assignee"], status=TaskExecution.Status.STARTED)

    finish(execution)
    finish(execution)  # a late repeat changes no row: no second event

    assert [d.event for d in delivered(hooks["assignee"])] == [event]
    data = delivered(hooks["assignee"])[0].payload["data"]
    assert data["id"] == str(execution.pk) and data["traceback"] is None
    # Not even the CEO hears of someone else's execution.
    assert sum(len(delivered(hook)) for hook in hooks.values()) == 1


def test_cancel_and_mark_failed_send_their_events_once(people, hooks, monkeypatch):
    from task_api.services import executions

    monkeypatch.setattr(executions, "_revoke", lambda celery_task_id: None)
    cancelled = TaskExecutionFactory(user=people["creator"], status=TaskExecution.Status.SCHEDULED)
    marked = TaskExecutionFactory(user=people["creator"], status=TaskExecution.Status.STARTED)

    execution_cancel(execution=cancelled)
    execution_mark_failed(execution=marked, by=people["ceo"])

    assert sorted(d.event for d in delivered(hooks["creator"])) == ["execution.failed", "execution.revoked"]


def test_lost_runs_send_one_failed_event_each(people, hooks):
    from datetime import timedelta

    from django.utils import timezone

    from task_api.services import executions_fail_lost

    past = timezone.now() - timedelta(minutes=5)
    lost = TaskExecutionFactory.create_batch(3, user=people["creator"], status="STARTED", run_deadline=past)
    TaskExecutionFactory(user=people["creator"], status="STARTED", run_deadline=timezone.now() + timedelta(hours=1))

    assert executions_fail_lost() == 3
    assert executions_fail_lost() == 0

    failed = delivered(hooks["creator"], "execution.failed")
    assert sorted(d.payload["data"]["id"] for d in failed) == sorted(str(e.pk) for e in lost)


def test_the_execution_finished_signal_is_sent_once_per_finish(people):
    from task_api.events import execution_finished

    heard = []

    def listen(sender, execution_id, status, **kwargs):
        heard.append((str(execution_id), status))

    execution_finished.connect(listen, sender=TaskExecution)
    try:
        execution = TaskExecutionFactory(user=people["creator"], status="STARTED")
        execution_succeeded(execution_id=str(execution.pk), result=1)
        execution_failed(execution_id=str(execution.pk), exception=ValueError(), traceback="")
    finally:
        execution_finished.disconnect(listen, sender=TaskExecution)

    assert heard == [(str(execution.pk), "SUCCESS")]


# A write of many tasks costs the receivers what a write of one does -------------------------------


@pytest.fixture
def listeners_uncached(settings):
    """The database path of `webhooks_listening`, as without Redis."""
    settings.WEBHOOK_LISTENERS_CACHE_SECONDS = 0


@pytest.fixture
def listeners_cached(settings):
    settings.WEBHOOK_LISTENERS_CACHE_SECONDS = 300


@pytest.mark.usefixtures("listeners_uncached")
@pytest.mark.parametrize("count", [1, 100])
def test_receivers_cost_a_fixed_number_of_queries_for_1_or_100_tasks(people, hooks, count, django_assert_num_queries):
    tasks = TaskFactory.create_batch(count, creator=people["creator"], assignees=[people["assignee"]])
    WebhookFactory.create_batch(3, owner=people["outsider"], events=["task.created"])

    # Webhooks, visibility, tasks, assignees, INSERT.
    with django_assert_num_queries(5):
        receivers.on_tasks_created(sender=Task, tasks=tasks, actor=people["creator"])
    with django_assert_num_queries(5):
        receivers.on_tasks_updated(sender=Task, changes=[(task, ["status"]) for task in tasks], actor=people["creator"])

    assert len(delivered(hooks["assignee"], "task.created")) == count
    assert len(delivered(hooks["outsider"])) == 0
    assert WebhookDelivery.objects.filter(event="task.created").count() == 5 * count


@pytest.mark.usefixtures("listeners_uncached")
def test_without_webhooks_an_event_costs_one_query(people, django_assert_num_queries):
    tasks = TaskFactory.create_batch(5, creator=people["creator"])

    with django_assert_num_queries(1):
        receivers.on_tasks_created(sender=Task, tasks=tasks, actor=people["creator"])


def test_every_event_is_documented():
    assert len(EVENTS) == 10 and "ping" in EVENTS


@pytest.mark.usefixtures("listeners_uncached")
def test_a_finished_execution_nobody_listens_to_costs_one_query(people, django_assert_num_queries):
    WebhookFactory(owner=people["ceo"])
    execution = TaskExecutionFactory(user=people["creator"], status="SUCCESS")

    with django_assert_num_queries(1):
        receivers.on_execution_finished(
            sender=TaskExecution, execution_id=execution.pk, status="SUCCESS", user_id=execution.user_id
        )

    assert not WebhookDelivery.objects.exists()


# With the shared cache, an event nobody subscribed to costs no query ------------------------------


@pytest.mark.usefixtures("listeners_cached")
def test_with_the_listeners_cached_an_event_nobody_subscribed_to_costs_no_query(people, django_assert_num_queries):
    WebhookFactory(owner=people["ceo"], events=["comment.created"])
    tasks = TaskFactory.create_batch(3, creator=people["creator"])
    execution = TaskExecutionFactory(user=people["creator"], status="SUCCESS")
    receivers.on_tasks_created(sender=Task, tasks=tasks, actor=people["creator"])  # reads the listeners once

    with django_assert_num_queries(0):
        receivers.on_tasks_created(sender=Task, tasks=tasks, actor=people["creator"])
        receivers.on_tasks_updated(sender=Task, changes=[(task, ["title"]) for task in tasks], actor=people["creator"])
        receivers.on_execution_finished(
            sender=TaskExecution, execution_id=execution.pk, status="SUCCESS", user_id=execution.user_id
        )

    assert not WebhookDelivery.objects.exists()


@pytest.mark.usefixtures("listeners_cached")
def test_a_webhook_created_or_reactivated_is_heard_at_once_despite_the_cache(people, client_for):
    task_create(creator=people["creator"], title="Before any webhook")  # caches "nobody listens"
    client = client_for(people["ceo"])
    body = {"url": "https://hooks.example.com/in", "events": ["task.created"]}
    created = client.post(reverse("webhook-list"), body, format="json")
    assert created.status_code == 201

    task_create(creator=people["creator"], title="Heard")
    hook = WebhookDelivery.objects.get().webhook
    assert hook.pk == created.json()["id"]

    client.patch(reverse("webhook-detail", args=[hook.pk]), {"is_active": False}, format="json")
    task_create(creator=people["creator"], title="Not heard")
    client.patch(reverse("webhook-detail", args=[hook.pk]), {"is_active": True}, format="json")
    task_create(creator=people["creator"], title="Heard again")

    titles = [d.payload["data"]["title"] for d in delivered(hook, "task.created")]
    assert titles == ["Heard", "Heard again"]


@pytest.mark.usefixtures("listeners_cached")
def test_with_the_cache_down_the_listeners_are_read_from_the_database(people, hooks, monkeypatch):
    from webhooks import selectors

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(selectors.cache, "get", down)
    task_create(creator=people["creator"], title="Still heard")

    assert len(delivered(hooks["ceo"], "task.created")) == 1
