"""Bulk create and bulk update of tasks through the API (SPEC §10 "Bulk").

Both are all or nothing, leave the same history and notifications as the same changes made
one by one, and run a fixed number of queries whatever the number of tasks.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from conftest import wait_for
from core.throttling import RateLimitThrottle
from notifications.models import Notification
from notifications.services import notification_preferences_update
from tasks import services
from tasks.events import tasks_updated
from tasks.models import Task, TaskAssignment, TaskStatusHistory

from .conftest import snapshot
from .factories import TaskFactory
from .test_api_permissions import MANAGES, PERSONAS, SEES, WORKS_ON
from .test_api_tasks import FIELDS

CREATE = "/api/v1/tasks/bulk_create/"
UPDATE = "/api/v1/tasks/bulk_update/"


DAY = timedelta(days=1)
# Tables the receivers of other apps (webhooks, live) write or read when tasks and notifications
# announce themselves; each adds a fixed number of queries per signal, counted apart from ours.
OTHER_APPS = ("webhooks_", "live_", "pg_advisory")


def own(queries):
    """The captured queries of tasks and notifications, without those of OTHER_APPS' receivers."""
    return [q["sql"] for q in queries.captured_queries if not any(name in q["sql"] for name in OTHER_APPS)]


def in_days(days):
    return (timezone.now() + timedelta(days=days)).isoformat()


def item(cast, n=0, **fields):
    return {"title": f"Item {n}", "priority": "high", "due_date": in_days(2), "assignees": [cast["assignee"].pk],
            **fields}


def nested(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


def rows_about(tasks):
    """What one-by-one and bulk writes must leave alike: per task (by position), its history,
    assignment records and notifications, without ids or times."""
    position = {task.pk: index for index, task in enumerate(tasks)}
    ids = list(position)
    return (
        sorted((position[r.task_id], r.from_status, r.to_status, r.changed_by_id)
               for r in TaskStatusHistory.objects.filter(task_id__in=ids)),
        sorted((position[r.task_id], r.assigned_to_id, r.assigned_by_id, r.action)
               for r in TaskAssignment.objects.filter(task_id__in=ids)),
        sorted((position[n.task_id], n.recipient_id, n.kind, n.actor_id, n.message, n.in_app, n.email_status)
               for n in Notification.objects.filter(task_id__in=ids)),
    )


# Bulk create ------------------------------------------------------------------------------------


def test_bulk_create_makes_each_task_as_post_does_and_answers_them_in_order(cast, client_for):
    items = [
        item(cast, 0, assignees=[cast["assignee"].pk, cast["colleague"].pk], estimate_hours="3.5"),
        item(cast, 1, department=None, assignees=[]),
        {"title": "Item 2", "department": cast["dept_b"].pk, "status": "todo"},
    ]

    response = client_for(cast["creator"]).post(CREATE, items, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert [task["title"] for task in data] == ["Item 0", "Item 1", "Item 2"]
    assert all(set(task) == FIELDS for task in data)
    assert [task["department"] for task in data] == [cast["dept_a"].pk, None, cast["dept_b"].pk]
    assert data[0]["assignees"] == sorted([cast["assignee"].pk, cast["colleague"].pk])
    assert [task["assigned_by"] for task in data] == [cast["creator"].pk, None, None]
    assert data[0]["estimate_hours"] == "3.50" and data[0]["priority"] == "high"
    assert {task["status"] for task in data} == {"todo"} and {task["creator"] for task in data} == {cast["creator"].pk}
    tasks = list(Task.objects.filter(pk__in=[task["id"] for task in data]).order_by("pk"))
    assert all(list(t.status_history.values_list("from_status", "to_status")) == [("", "todo")] for t in tasks)
    assert TaskAssignment.objects.filter(task=tasks[0], assigned_by=cast["creator"], action="assigned").count() == 2


def test_bulk_create_leaves_what_one_by_one_creates_leave(cast, client_for):
    notification_preferences_update(user=cast["manager"], changes={"email": {"created": False}})
    client = client_for(cast["creator"])
    items = [
        item(cast, 0, assignees=[cast["assignee"].pk, cast["colleague"].pk, cast["creator"].pk]),
        item(cast, 1, department=cast["dept_b"].pk, assignees=[]),
        item(cast, 2, department=None),
    ]
    one_by_one = [Task.objects.get(pk=client.post("/api/v1/tasks/", body, format="json").json()["id"])
                  for body in items]

    response = client.post(CREATE, items, format="json")

    bulk = [Task.objects.get(pk=task["id"]) for task in response.json()]
    assert rows_about(bulk) == rows_about(one_by_one)
    history, assignments, notifications = rows_about(bulk)
    assert len(history) == 3 and len(assignments) == 4
    assert {kind for _, _, kind, *_ in notifications} == {"created", "assigned"}
    assert (0, cast["manager"].pk, "created", cast["creator"].pk) in [n[:4] for n in notifications]


def test_one_refused_item_creates_nothing_and_each_refusal_is_named_by_index(cast, client_for):
    items = [
        item(cast, 0),
        {"description": "no title"},
        item(cast, 2, department=999999, assignees=[999999]),
        item(cast, 3, priority="urgent"),
    ]

    response = client_for(cast["creator"]).post(CREATE, items, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["1", "2", "3"]
    assert errors["1"] == {"title": ["This field is required."]}
    assert set(errors["2"]) == {"department", "assignees"} and "999999" in errors["2"]["assignees"][0]
    assert set(errors["3"]) == {"priority"}
    assert not Task.all_objects.exists() and not Notification.objects.exists()


def test_items_breaking_a_create_rule_create_nothing(cast, client_for):
    items = [item(cast, 0), item(cast, 1, due_date="2001-01-01T00:00:00Z"), item(cast, 2, status="done")]

    response = client_for(cast["creator"]).post(CREATE, items, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "1": {"due_date": ["The due date must be in the future."]}, "2": {"status": ["New tasks start as todo."]},
    }
    assert not Task.all_objects.exists() and not TaskStatusHistory.objects.exists()
    assert not TaskAssignment.objects.exists() and not Notification.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ([], "non_field_errors"),
        ({"title": "not a list"}, "non_field_errors"),
        ("text", "non_field_errors"),
        ([{"title": "fine"}] * 101, "non_field_errors"),
        ([{"title": "a\x00b"}], "detail"),
        ([["nested"]], "errors"),
        ([{"title": "deep", "description": nested(40)}], "detail"),
        ([{"title": "x", "assignees": [True]}], "errors"),
        ([{"title": "x", "assignees": [1] * 101}], "errors"),
    ],
    ids=["empty", "object", "string", "101-items", "nul", "item-not-object", "too-deep", "bool-id", "101-assignees"],
)
def test_bulk_create_refuses_bad_bodies_with_a_400_naming_the_fault(body, field, cast, client_for):
    response = client_for(cast["creator"]).post(CREATE, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Task.all_objects.exists()


def test_bulk_create_takes_100_items(cast, client_for):
    response = client_for(cast["creator"]).post(CREATE, [{"title": f"T{n}"} for n in range(100)], format="json")

    assert response.status_code == 201
    assert len(response.json()) == Task.objects.count() == 100


def test_bulk_create_runs_a_fixed_number_of_queries(cast, client_for, django_assert_num_queries):
    client = client_for(cast["creator"])

    def items(count):
        people = [cast["assignee"].pk, cast["colleague"].pk]
        return [item(cast, n, department=cast["dept_b"].pk, assignees=people) for n in range(count)]

    with CaptureQueriesContext(connection) as one:
        assert client.post(CREATE, items(1), format="json").status_code == 201
    with django_assert_num_queries(len(one)):
        assert client.post(CREATE, items(100), format="json").status_code == 201

    # departments, assignees; savepoint, tasks, history, assignees, assignment records; `created`
    # recipients, insert; `assigned` recipients, insert; release; the answer, its assignees
    assert len(own(one)) == 14
    assert Notification.objects.filter(kind="assigned").count() == 2 * 101


# Bulk update ------------------------------------------------------------------------------------


@pytest.fixture
def dept_a_tasks(cast):
    """Two dept_a tasks like `task` (created by `creator`, assigned by `assigner` to `assignee`)."""
    return [
        TaskFactory(title=f"Plan {n}", creator=cast["creator"], department=cast["dept_a"], assigned_by=cast["assigner"],
                    assignees=[cast["assignee"]])
        for n in range(2)
    ]


def test_bulk_update_changes_every_task_and_answers_them_as_the_list_does(cast, dept_a_tasks, client_for):
    ids = [dept_a_tasks[1].pk, str(dept_a_tasks[0].external_id)]
    due = in_days(5)

    response = client_for(cast["manager"]).post(
        UPDATE, {"ids": ids, "set": {"status": "done", "priority": "critical", "due_date": due,
                                     "department": cast["dept_b"].pk}}, format="json"
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert [task["id"] for task in data] == [dept_a_tasks[1].pk, dept_a_tasks[0].pk]
    assert all(set(task) == FIELDS for task in data)
    for task in data:
        assert (task["status"], task["priority"], task["department"]) == ("done", "critical", cast["dept_b"].pk)
        assert task["completed_at"] is not None and task["completed_late"] is False
    assert TaskStatusHistory.objects.filter(to_status="done", changed_by=cast["manager"]).count() == 2


def test_bulk_update_leaves_what_one_by_one_patches_leave(cast, client_for):
    def make():
        past = timezone.now() - timedelta(hours=1)
        return [
            TaskFactory(title="Open", creator=cast["creator"], assignees=[cast["assignee"], cast["colleague"]]),
            TaskFactory(title="Failed", creator=cast["creator"], status="failed", due_date=past,
                        assignees=[cast["assignee"]]),
            TaskFactory(title="Done", creator=cast["creator"], status="done", priority="low"),
        ]

    changes = {"status": "done", "priority": "low"}
    client = client_for(cast["manager"])
    one_by_one, bulk = make(), make()
    for task in one_by_one:
        client.patch(f"/api/v1/tasks/{task.pk}/", changes, format="json")

    response = client.post(UPDATE, {"ids": [task.pk for task in bulk], "set": changes}, format="json")

    assert response.status_code == 200
    assert rows_about(bulk) == rows_about(one_by_one)
    fields = ("status", "priority", "completed_late")
    assert [Task.objects.values_list(*fields).get(pk=t.pk) for t in bulk] == [
        Task.objects.values_list(*fields).get(pk=t.pk) for t in one_by_one
    ]
    # the open task: creator and its two assignees; the failed one: creator and assignee; the done one: unchanged
    assert [row[2] for row in rows_about(bulk)[2]] == ["updated"] * 5
    assert Task.objects.get(pk=bulk[1].pk).completed_late is True


def test_a_task_that_does_not_change_is_answered_but_not_written(cast, dept_a_tasks, client_for):
    Task.objects.filter(pk=dept_a_tasks[0].pk).update(priority="high")
    before = Task.objects.get(pk=dept_a_tasks[0].pk).updated_at

    response = client_for(cast["creator"]).post(
        UPDATE, {"ids": [t.pk for t in dept_a_tasks], "set": {"priority": "high"}}, format="json"
    )

    assert response.status_code == 200 and len(response.json()) == 2
    assert Task.objects.get(pk=dept_a_tasks[0].pk).updated_at == before
    assert Notification.objects.filter(kind="updated").values_list("task_id", flat=True).distinct().get() == (
        dept_a_tasks[1].pk
    )


def expected_code(persona, granted_to):
    if persona not in SEES:
        return 404
    return 200 if persona in granted_to else 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "changes, granted_to", [({"priority": "high"}, MANAGES), ({"status": "in_progress"}, WORKS_ON)],
    ids=["priority", "status"],
)
def test_bulk_update_follows_the_patch_rules_for_every_persona(persona, changes, granted_to, cast, task_for,
                                                               dept_a_tasks, client_for):
    task = task_for(persona)
    tasks = [task, *dept_a_tasks]
    Task.objects.filter(pk__in=[t.pk for t in dept_a_tasks]).update(assigned_by=task.assigned_by)  # all alike
    before = [snapshot(t) for t in tasks]

    response = client_for(cast[persona]).post(UPDATE, {"ids": [t.pk for t in tasks], "set": changes}, format="json")

    assert response.status_code == expected_code(persona, granted_to), response.content
    if response.status_code == 200:
        assert {t[next(iter(changes))] for t in response.json()} == set(changes.values())
        return
    assert [snapshot(t) for t in tasks] == before
    assert not Notification.objects.exists()
    assert response.json()["ids"] == [t.pk for t in tasks]


def test_403_names_only_the_tasks_the_requester_may_not_change_and_changes_none(cast, client_for):
    mine = TaskFactory(creator=cast["assignee"])
    theirs = TaskFactory(creator=cast["creator"], assignees=[cast["assignee"]])
    other = TaskFactory(creator=cast["creator"], assignees=[cast["assignee"]])
    before = [snapshot(t) for t in (mine, theirs, other)]

    response = client_for(cast["assignee"]).post(
        UPDATE, {"ids": [mine.pk, str(theirs.external_id), other.pk], "set": {"priority": "low"}}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["ids"] == [str(theirs.external_id), other.pk]
    assert [snapshot(t) for t in (mine, theirs, other)] == before


def test_404_when_any_id_is_not_visible_names_them_and_changes_nothing(cast, dept_a_tasks, client_for):
    hidden = TaskFactory(creator=cast["outsider"], department=cast["dept_b"])
    deleted = TaskFactory(creator=cast["creator"], deleted_at=timezone.now())
    before = [snapshot(t) for t in dept_a_tasks]
    ids = [dept_a_tasks[0].pk, hidden.pk, dept_a_tasks[1].pk, deleted.pk, 999999]

    response = client_for(cast["creator"]).post(UPDATE, {"ids": ids, "set": {"status": "done"}}, format="json")

    assert response.status_code == 404
    assert response.json()["ids"] == [hidden.pk, deleted.pk, 999999]
    assert [snapshot(t) for t in dept_a_tasks] == before


def test_a_due_date_cannot_be_moved_into_the_past_but_an_overdue_one_may_stay(cast, client_for):
    past = timezone.now() - timedelta(hours=2)
    overdue = [TaskFactory(creator=cast["creator"], due_date=past) for _ in range(2)]
    other = TaskFactory(creator=cast["creator"])
    client = client_for(cast["creator"])

    kept = client.post(UPDATE, {"ids": [t.pk for t in overdue], "set": {"due_date": past.isoformat(),
                                                                        "priority": "low"}}, format="json")
    moved = client.post(UPDATE, {"ids": [overdue[0].pk, other.pk], "set": {"due_date": past.isoformat()}},
                        format="json")

    assert kept.status_code == 200
    assert moved.status_code == 400
    assert moved.json()["set"] == {"due_date": ["The due date must be in the future."]}
    assert Task.objects.get(pk=other.pk).due_date != past


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ids": [], "set": {"status": "done"}}, "ids"),
        ({"ids": list(range(1, 102)), "set": {"status": "done"}}, "ids"),
        ({"ids": "1", "set": {"status": "done"}}, "ids"),
        ({"ids": [0], "set": {"status": "done"}}, "ids"),
        ({"ids": [True], "set": {"status": "done"}}, "ids"),
        ({"ids": [1.5], "set": {"status": "done"}}, "ids"),
        ({"ids": ["not-a-uuid"], "set": {"status": "done"}}, "ids"),
        ({"ids": [[1]], "set": {"status": "done"}}, "ids"),
        ({"ids": [1]}, "set"),
        ({"ids": [1], "set": {}}, "set"),
        ({"ids": [1], "set": {"title": "x"}}, "set"),
        ({"ids": [1], "set": {"status": "finished"}}, "set"),
        ({"ids": [1], "set": {"department": 999999}}, "set"),
        ({"ids": [1], "set": {"status": "done\x00"}}, "set"),
        ([{"ids": [1]}], "non_field_errors"),
    ],
    ids=["no-ids", "101-ids", "ids-not-list", "zero", "bool", "float", "bad-uuid", "nested", "no-set", "empty-set",
         "unknown-field", "bad-status", "unknown-department", "nul", "list-body"],
)
def test_bulk_update_refuses_bad_bodies_with_a_400_naming_the_field(body, field, cast, client_for):
    TaskFactory(id=1, creator=cast["creator"])
    before = snapshot(Task.objects.get(pk=1))

    response = client_for(cast["creator"]).post(UPDATE, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot(Task.objects.get(pk=1)) == before


def test_an_id_repeated_in_either_form_is_a_400(cast, dept_a_tasks, client_for):
    client = client_for(cast["creator"])
    task = dept_a_tasks[0]

    for ids in ([task.pk, task.pk], [task.pk, str(task.external_id)]):
        response = client.post(UPDATE, {"ids": ids, "set": {"status": "done"}}, format="json")
        assert response.status_code == 400
        assert "ids" in response.json()
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_bulk_update_runs_a_fixed_number_of_queries(cast, client_for, django_assert_num_queries):
    client = client_for(cast["manager"])

    def body(count):
        tasks = Task.objects.bulk_create(
            Task(title=f"T{n}", creator=cast["creator"], department=cast["dept_a"], due_date=timezone.now() + DAY)
            for n in range(count)
        )
        Task.assignees.through.objects.bulk_create(
            Task.assignees.through(task_id=task.pk, user_id=cast["assignee"].pk) for task in tasks
        )
        changes = {"status": "done", "priority": "high", "due_date": in_days(4), "department": cast["dept_b"].pk}
        return {"ids": [task.pk for task in tasks], "set": changes}

    single, hundred = body(1), body(100)
    with CaptureQueriesContext(connection) as one:
        assert client.post(UPDATE, single, format="json").status_code == 200
    with django_assert_num_queries(len(one)):
        assert client.post(UPDATE, hundred, format="json").status_code == 200

    # department; the tasks named, their assignees; savepoint, lock, update, history; `updated`
    # audience, insert; release; the answer, its assignees
    assert len(own(one)) == 12
    assert Notification.objects.filter(kind="updated").count() == 2 * 101


# Preconditions, expansion, rate limit ------------------------------------------------------------


def test_bulk_requests_refuse_if_match_and_leave_the_tasks_etags_working(cast, dept_a_tasks, client_for):
    client = client_for(cast["creator"])
    url = f"/api/v1/tasks/{dept_a_tasks[0].pk}/"
    etag = client.get(url)["ETag"]
    body = {"ids": [t.pk for t in dept_a_tasks], "set": {"priority": "low"}}

    refused = client.post(UPDATE, body, format="json", headers={"If-Match": etag})
    refused_create = client.post(CREATE, [{"title": "x"}], format="json", headers={"If-None-Match": "*"})

    assert refused.status_code == refused_create.status_code == 412
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # nothing changed
    done = client.post(UPDATE, body, format="json")
    assert done.status_code == 200 and "ETag" not in done
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    assert client.patch(url, {"title": "x"}, format="json", headers={"If-Match": etag}).status_code == 412
    current = client.get(url)["ETag"]
    assert client.patch(url, {"title": "x"}, format="json", headers={"If-Match": current}).status_code == 200


def test_bulk_answers_expand_like_the_list(cast, dept_a_tasks, client_for):
    client = client_for(cast["creator"])

    created = client.post(f"{CREATE}?expand=creator,assignees", [item(cast)], format="json")
    updated = client.post(f"{UPDATE}?expand=department", {"ids": [dept_a_tasks[0].pk], "set": {"status": "done"}},
                          format="json")

    assert created.json()[0]["creator"]["email"] == cast["creator"].email
    assert [person["id"] for person in created.json()[0]["assignees"]] == [cast["assignee"].pk]
    assert updated.json()[0]["department"] == {"id": cast["dept_a"].pk, "name": cast["dept_a"].name}
    assert client.post(f"{UPDATE}?expand=nope", {"ids": [1], "set": {}}, format="json").status_code == 400


def test_a_bulk_request_counts_once_per_task_against_the_user_rate(cast, dept_a_tasks, client_for, monkeypatch):
    monkeypatch.setattr(RateLimitThrottle, "timer", staticmethod(lambda: 1_800_000_030.25))
    client = client_for(UserFactory())

    def remaining(response):
        return int(response["X-RateLimit-Remaining"])

    assert remaining(client.post(CREATE, [{"title": f"T{n}"} for n in range(30)], format="json")) == 1200 - 30
    assert remaining(client.post(UPDATE, {"ids": [1, 2, 3], "set": {"status": "done"}}, format="json")) == 1200 - 33
    assert remaining(client.post(CREATE, {"not": "a list"}, format="json")) == 1200 - 34
    assert remaining(client.get("/api/v1/tasks/")) == 1200 - 35



def test_the_schema_documents_both_operations_with_refs_that_resolve(cast, client_for):
    schema = client_for(cast["creator"]).get("/api/v1/schema/?format=json").json()
    create = schema["paths"][CREATE]["post"]
    update = schema["paths"][UPDATE]["post"]

    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert (body["type"], body["minItems"], body["maxItems"]) == ("array", 1, 100)
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
    assert {"403", "404", "412"} <= set(update["responses"])

    def refs(node):
        if isinstance(node, dict):
            yield from ([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    names = {ref.rsplit("/", 1)[1] for ref in refs([create, update])}
    assert "TaskWriteRequest" in names and names <= set(schema["components"]["schemas"])


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_updates_wait_for_each_other_and_lose_nothing(people):
    """Two bulk updates of the same tasks at once, on their own PostgreSQL connections, naming
    them in opposite orders: the second waits on the first's row locks (taken in id order, so
    never a deadlock) and then works from the committed rows, so each history continues the last."""
    future = timezone.now() + timedelta(days=2)
    tasks = Task.objects.bulk_create(Task(title=f"T{n}", creator=people["creator"], due_date=future) for n in range(50))
    first = threading.local()
    locked = threading.Event()
    errors = []

    def hold_until_the_other_waits(sender, **kwargs):
        if getattr(first, "holding", False):
            locked.set()
            with connection.cursor() as cursor:
                def other_waits():
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")
                    return cursor.fetchone()[0]
                wait_for(other_waits, timeout=20, message="the second bulk update to wait on the row locks")

    def run(status, ordered, holding):
        first.holding = holding
        try:
            services.tasks_bulk_update(tasks=ordered, by=people["creator"], status=status)
        except Exception as exc:  # re-raised through the assertion below
            errors.append(exc)
        finally:
            connection.close()

    tasks_updated.connect(hold_until_the_other_waits, dispatch_uid="test-hold")
    try:
        holder = threading.Thread(target=run, args=("in_progress", tasks, True))
        holder.start()
        assert locked.wait(20), "the first bulk update never got its locks"
        waiter = threading.Thread(target=run, args=("done", tasks[::-1], False))
        waiter.start()
        holder.join(60)
        waiter.join(60)
    finally:
        tasks_updated.disconnect(dispatch_uid="test-hold")

    assert errors == []
    chains = {task.pk: [] for task in tasks}
    for task_id, from_status, to_status in TaskStatusHistory.objects.order_by("id").values_list(
        "task_id", "from_status", "to_status"
    ):
        chains[task_id].append((from_status, to_status))
    assert set(map(tuple, chains.values())) == {(("todo", "in_progress"), ("in_progress", "done"))}
    assert set(Task.objects.values_list("status", flat=True)) == {"done"}
