"""What goes into the event log, for whom, and at what cost per batch."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from live import receivers
from live.models import Event
from live.selectors import event_horizon, events_after
from notifications.models import Notification
from notifications.services import notification_bulk_create
from task_api.events import execution_finished
from task_api.models import TaskExecution
from task_api.services.lifecycle import execution_succeeded
from task_api.tests.factories import TaskExecutionFactory
from tasks import services as task_services
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def readable(user, after=0):
    return [(e.kind, e.data) for e in events_after(user=user, after=after, upto=event_horizon().check(), limit=1000)]


def test_a_notification_reaches_its_recipient_only_and_only_when_shown_in_the_app(people):
    task = TaskFactory(creator=people["creator"])
    shown, hidden = notification_bulk_create(notifications=[
        Notification(recipient=people["assignee"], kind="updated", task=task, message="Shown"),
        Notification(recipient=people["outsider"], kind="updated", task=task, message="Email only", in_app=False),
    ])
    events = readable(people["assignee"])
    assert events == [("notification.created", {
        "id": shown.pk, "kind": "updated", "task": task.pk, "actor": None, "message": "Shown",
        "created_at": shown.created_at.isoformat().replace("+00:00", "Z"), "read_at": None,
    })]
    assert readable(people["outsider"]) == []
    assert readable(people["creator"]) == []


def test_a_task_change_is_stored_once_and_read_by_whoever_sees_the_task(people):
    task = TaskFactory(creator=people["creator"], department=people["dept_a"])
    before = Event.objects.count()
    task_services.task_update(task=task, by=people["creator"], priority="high")
    stored = Event.objects.filter(kind="task.updated")
    assert stored.count() == 1 and Event.objects.count() - before == 1
    assert stored.get().user_id is None and stored.get().task_id == task.pk
    expected = {"id": task.pk, "title": task.title, "status": "todo", "changed_fields": ["priority"],
                "actor": people["creator"].pk}
    for reader in ("creator", "manager", "ceo", "hr"):
        assert ("task.updated", expected) in readable(people[reader]), reader
    # An employee of another department, and that department's manager, do not see the task.
    for reader in ("outsider", "other_manager", "assignee"):
        assert [kind for kind, _ in readable(people[reader]) if kind == "task.updated"] == [], reader


def test_visibility_is_decided_when_the_stream_reads(people):
    task = TaskFactory(creator=people["creator"], department=people["dept_a"])
    task_services.task_update(task=task, by=people["creator"], title="Renamed")
    assert readable(people["outsider"]) == []
    task_services.task_assign(task=task, assignees=[people["outsider"]], by=people["creator"])
    kinds = [(kind, data["changed_fields"]) for kind, data in readable(people["outsider"]) if kind == "task.updated"]
    assert kinds == [("task.updated", ["title"]), ("task.updated", ["assignees"])]
    task_services.task_delete(task=task)
    assert [kind for kind, _ in readable(people["creator"]) if kind == "task.updated"] == []


def test_an_update_that_adds_assignees_is_one_event(people):
    task = TaskFactory(creator=people["creator"], department=people["dept_a"])
    task_services.task_update(task=task, by=people["creator"], title="New", assignees=[people["assignee"]])
    events = list(Event.objects.filter(kind="task.updated").values_list("data", flat=True))
    assert [e["changed_fields"] for e in events] == [["assignees", "title"]]
    # A later assignment through the same instance is announced again.
    task_services.task_assign(task=task, assignees=[people["manager"]], by=people["creator"])
    assert Event.objects.filter(kind="task.updated").count() == 2


def test_a_finished_execution_reaches_its_owner_only(people):
    run = TaskExecutionFactory(user=people["assignee"], status=TaskExecution.Status.SUCCESS)
    execution_finished.send(
        sender=TaskExecution, execution_id=run.pk, status=run.status, user_id=run.user_id,
        task_name=run.task_name, completed_at=None,
    )
    events = readable(people["assignee"])
    assert events == [("execution.updated", {
        "id": str(run.pk), "task_name": run.task_name, "status": "SUCCESS", "completed_at": None,
    })]
    assert readable(people["ceo"]) == []


def test_a_run_finished_by_the_worker_shows_its_row_as_stored(people):
    run = TaskExecutionFactory(user=people["assignee"], status=TaskExecution.Status.STARTED)
    execution_succeeded(execution_id=str(run.pk), result=3)
    run.refresh_from_db()
    assert readable(people["assignee"]) == [("execution.updated", {
        "id": str(run.pk), "task_name": run.task_name, "status": "SUCCESS",
        "completed_at": DjangoJSONEncoder().default(run.completed_at),
    })]


def _tasks(people, n):
    return [TaskFactory(creator=people["creator"], department=people["dept_a"]) for _ in range(n)]


@pytest.mark.parametrize(
    "send",
    [
        lambda tasks, actor: receivers.on_tasks_updated(Task, changes=[(t, ["status"]) for t in tasks], actor=actor),
        lambda tasks, actor: receivers.on_tasks_assigned(Task, assignments=[(t, [actor]) for t in tasks], actor=actor),
    ],
    ids=["tasks_updated", "tasks_assigned"],
)
def test_task_receivers_cost_the_same_for_1_and_100_tasks(people, send, django_assert_num_queries):
    for n in (1, 100):
        tasks = _tasks(people, n)
        with django_assert_num_queries(1):  # one INSERT, which takes the writer lock on PostgreSQL
            send(tasks, people["creator"])
        assert Event.objects.filter(task__in=tasks).count() == n


def test_the_notification_receiver_costs_the_same_for_1_and_100(people, django_assert_num_queries):
    task = TaskFactory(creator=people["creator"])
    for n in (1, 100):
        rows = Notification.objects.bulk_create(
            [Notification(recipient=people["assignee"], kind="updated", task=task, message=f"{n}-{i}")
             for i in range(n)]
        )
        with django_assert_num_queries(1):
            receivers.on_notifications_created(sender=Notification, notifications=rows)
        assert Event.objects.filter(kind="notification.created", data__message__startswith=f"{n}-",
                                    user=people["assignee"]).count() == n
