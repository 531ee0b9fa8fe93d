"""Reported issue 8, lost updates: a stale PUT silently reverted another client's change.

Task, comment, user and department details now carry a strong ETag (a hash of the detail
representation); a write whose If-Match names an older version answers 412 and changes
nothing, and a GET whose If-None-Match matches answers 304.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Department, User
from comments.models import Comment
from conftest import wait_for
from tasks import services as task_services
from tasks.models import Task, TaskAssignment, TaskStatusHistory
from tasks.tests.factories import CommentFactory, TaskFactory

DETAIL_QUERIES = 3  # as tasks/tests/test_queries.py: a conditional GET costs no more


@pytest.fixture
def world(people):
    task = TaskFactory(
        title="Quarterly plan", creator=people["creator"], department=people["dept_a"], assignees=[people["assignee"]]
    )
    comment = CommentFactory(task=task, author=people["creator"], content="First draft")
    return {**people, "task": task, "comment": comment}


def task_state(world):
    task = world["task"]
    return (
        Task.all_objects.filter(pk=task.pk).values().get(),
        sorted(task.assignees.values_list("pk", flat=True)),
        list(TaskStatusHistory.objects.filter(task=task).values_list("id", "to_status")),
        list(TaskAssignment.objects.filter(task=task).values_list("id", "action", "assigned_to")),
    )


@dataclass
class Resource:
    name: str
    url: Callable
    writer_a: str  # the persona of the client that changes it first
    writer_b: str  # the persona of the client whose copy goes stale
    change_a: dict
    change_b: Callable  # world -> a full PUT body (also sent as PATCH)
    state: Callable  # world -> everything a refused write must leave as it was


RESOURCES = [
    Resource(
        "task",
        lambda w: f"/api/v1/tasks/{w['task'].pk}/",
        "creator",
        "manager",
        {"title": "Title by A"},
        lambda w: {"title": "Title by B", "description": "B's copy", "priority": "low"},
        task_state,
    ),
    Resource(
        "comment",
        lambda w: f"/api/v1/comments/{w['comment'].pk}/",
        "creator",
        "creator",  # the author on a second device
        {"content": "Words by A"},
        lambda w: {"content": "Words by B"},
        lambda w: Comment.objects.filter(pk=w["comment"].pk).values().first(),
    ),
    Resource(
        "user",
        lambda w: f"/api/v1/users/{w['outsider'].pk}/",
        "ceo",
        "hr",
        {"name": "Name by A"},
        lambda w: {
            "email": w["outsider"].email, "name": "Name by B", "role": "employee",
            "department": w["dept_b"].pk, "is_active": True,
        },
        lambda w: User.objects.filter(pk=w["outsider"].pk).values().first(),
    ),
    Resource(
        "department",
        lambda w: f"/api/v1/departments/{w['dept_b'].pk}/",
        "ceo",
        "hr",
        {"name": "Sales by A"},
        lambda w: {"name": "Sales by B", "manager": w["other_manager"].pk},
        lambda w: Department.objects.filter(pk=w["dept_b"].pk).values().first(),
    ),
]
by_name = pytest.mark.parametrize("resource", RESOURCES, ids=[r.name for r in RESOURCES])


def etag_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10  # strong: no W/ prefix
    return etag


@by_name
def test_get_answers_an_etag_and_304_when_if_none_match_matches(resource, world, client_for):
    client = client_for(world[resource.writer_b])
    url = resource.url(world)
    etag = etag_of(client, url)

    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = client.get(url, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response["ETag"] == etag

    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert etag_of(client, url) == etag  # stable while nothing changes


@by_name
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_stale_if_match_answers_412_and_changes_nothing(resource, method, world, client_for):
    a, b = client_for(world[resource.writer_a]), client_for(world[resource.writer_b])
    url = resource.url(world)
    stale = etag_of(b, url)
    assert a.patch(url, resource.change_a, format="json").status_code == 200
    before = resource.state(world)

    response = getattr(b, method)(url, resource.change_b(world), format="json", headers={"If-Match": stale})

    assert response.status_code == 412, response.content
    assert response.json()["detail"]
    assert resource.state(world) == before


@by_name
def test_the_current_if_match_succeeds_and_answers_the_new_etag(resource, world, client_for):
    b = client_for(world[resource.writer_b])
    url = resource.url(world)
    old = etag_of(b, url)

    response = b.patch(url, resource.change_b(world), format="json", headers={"If-Match": f'"other", {old}'})

    assert response.status_code == 200, response.content
    assert response["ETag"] != old
    assert response["ETag"] == etag_of(b, url)  # the ETag of the write is the one a GET answers
    put = b.put(url, resource.change_b(world), format="json", headers={"If-Match": response["ETag"]})
    assert put.status_code == 200 and put["ETag"] == response["ETag"]  # same representation, same tag


@by_name
def test_without_the_headers_a_write_behaves_as_before(resource, world, client_for):
    a, b = client_for(world[resource.writer_a]), client_for(world[resource.writer_b])
    url = resource.url(world)
    b.get(url)
    assert a.patch(url, resource.change_a, format="json").status_code == 200

    response = b.patch(url, resource.change_b(world), format="json")  # last writer wins, as it asked

    assert response.status_code == 200
    assert b.get(url).json() == response.json()


@by_name
def test_delete_with_the_current_if_match_succeeds(resource, world, client_for):
    b = client_for(world[resource.writer_b])
    url = resource.url(world)

    response = b.delete(url, headers={"If-Match": etag_of(b, url)})

    assert response.status_code == 204, response.content


def test_reported_scenario_a_stale_put_no_longer_reverts_another_clients_change(world, client_for):
    url = f"/api/v1/tasks/{world['task'].pk}/"
    alice, bob = client_for(world["creator"]), client_for(world["manager"])
    alice_copy, bob_copy = alice.get(url), bob.get(url)
    assert alice_copy["ETag"] == bob_copy["ETag"]

    body = {**{k: bob_copy.json()[k] for k in ("title", "description", "priority")}}
    saved = alice.put(url, {**body, "title": "Alice's title", "priority": "high"}, format="json",
                      headers={"If-Match": alice_copy["ETag"]})
    stale = bob.put(url, {**body, "description": "Bob's notes"}, format="json",
                    headers={"If-Match": bob_copy["ETag"]})

    assert saved.status_code == 200
    assert stale.status_code == 412
    world["task"].refresh_from_db()
    assert (world["task"].title, world["task"].priority, world["task"].description) == (
        "Alice's title", "high", "Something to do"
    )
    fresh = bob.get(url)
    assert fresh.json()["title"] == "Alice's title"
    retry = bob.put(url, {**body, "title": "Alice's title", "priority": "high", "description": "Bob's notes"},
                    format="json", headers={"If-Match": fresh["ETag"]})
    assert retry.status_code == 200
    assert retry.json()["title"] == "Alice's title" and retry.json()["description"] == "Bob's notes"


TASK_ACTIONS = [
    ("assign", "creator", lambda w: {"assignees": [w["outsider"].pk]}),
    ("unassign", "creator", lambda w: {"assignees": [w["assignee"].pk]}),
    ("delegate", "assignee", lambda w: {"to": w["manager"].pk}),
    ("mark_done", "assignee", lambda w: {}),
]


@pytest.mark.parametrize("action, persona, body", TASK_ACTIONS, ids=[a[0] for a in TASK_ACTIONS])
def test_a_task_action_with_a_stale_if_match_answers_412_and_changes_nothing(action, persona, body, world,
                                                                           client_for):
    url = f"/api/v1/tasks/{world['task'].pk}/"
    client = client_for(world[persona])
    stale = etag_of(client, url)
    assert client_for(world["manager"]).patch(url, {"priority": "critical"}, format="json").status_code == 200
    before = task_state(world)

    response = client.post(f"{url}{action}/", body(world), format="json", headers={"If-Match": stale})

    assert response.status_code == 412, response.content
    assert task_state(world) == before
    current = client.post(f"{url}{action}/", body(world), format="json", headers={"If-Match": etag_of(client, url)})
    assert current.status_code == 200, current.content
    assert task_state(world) != before


def test_if_match_uses_strong_comparison_and_star_matches_any_version(world, client_for):
    url = f"/api/v1/tasks/{world['task'].pk}/"
    client = client_for(world["creator"])
    etag = etag_of(client, url)

    weak = client.patch(url, {"title": "weak"}, format="json", headers={"If-Match": f"W/{etag}"})
    malformed = client.patch(url, {"title": "malformed"}, format="json", headers={"If-Match": etag.strip('"')})
    star = client.patch(url, {"title": "any version"}, format="json", headers={"If-Match": "*"})

    assert (weak.status_code, malformed.status_code, star.status_code) == (412, 412, 200)
    assert Task.objects.get(pk=world["task"].pk).title == "any version"


def test_if_none_match_on_a_write_answers_412_when_it_matches(world, client_for):
    url = f"/api/v1/departments/{world['dept_b'].pk}/"
    client = client_for(world["hr"])
    etag = etag_of(client, url)

    for header in ("*", etag):
        assert client.patch(url, {"name": "X"}, format="json", headers={"If-None-Match": header}).status_code == 412
    assert client.patch(url, {"name": "X"}, format="json", headers={"If-None-Match": '"old"'}).status_code == 200
    assert Department.objects.get(pk=world["dept_b"].pk).name == "X"


def test_a_get_with_a_failing_if_match_answers_412(world, client_for):
    url = f"/api/v1/comments/{world['comment'].pk}/"
    client = client_for(world["creator"])

    assert client.get(url, headers={"If-Match": '"not-it"'}).status_code == 412
    assert client.get(url, headers={"If-Match": etag_of(client, url)}).status_code == 200


def test_the_etag_follows_the_whole_representation_not_just_the_row(world, client_for):
    """The task detail shows its latest comments and count, a user their task statistics."""
    task_url, user_url = f"/api/v1/tasks/{world['task'].pk}/", f"/api/v1/users/{world['outsider'].pk}/"
    client = client_for(world["ceo"])
    task_etag, user_etag = etag_of(client, task_url), etag_of(client, user_url)

    CommentFactory(task=world["task"], author=world["assignee"])  # the task row is untouched
    TaskFactory(creator=world["ceo"], assignees=[world["outsider"]])  # so is the user row

    assert etag_of(client, task_url) != task_etag
    assert etag_of(client, user_url) != user_etag
    stale = client.patch(task_url, {"title": "New"}, format="json", headers={"If-Match": task_etag})
    assert stale.status_code == 412


def test_visibility_and_permissions_answer_before_the_precondition(world, client_for):
    task_url = f"/api/v1/tasks/{world['task'].pk}/"
    etag = etag_of(client_for(world["creator"]), task_url)

    hidden = client_for(world["outsider"]).patch(task_url, {"title": "x"}, format="json", headers={"If-Match": '"x"'})
    forbidden = client_for(world["assignee"]).patch(task_url, {"title": "x"}, format="json",
                                                    headers={"If-Match": etag})
    not_author = client_for(world["manager"]).patch(f"/api/v1/comments/{world['comment'].pk}/", {"content": "x"},
                                                    format="json", headers={"If-Match": '"x"'})

    assert (hidden.status_code, forbidden.status_code, not_author.status_code) == (404, 403, 403)
    assert client_for(world["outsider"]).get(task_url, headers={"If-None-Match": "*"}).status_code == 404


def test_a_conditional_get_costs_no_extra_query(world, client_for, django_assert_max_num_queries):
    url = f"/api/v1/tasks/{world['task'].pk}/"
    client = client_for(world["assignee"])
    etag = etag_of(client, url)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_head_and_the_browsable_api_answer_conditional_reads(world, client_for):
    url = f"/api/v1/departments/{world['dept_a'].pk}/"
    client = client_for(world["hr"])  # the browsable API also builds its PUT form for HR
    etag = etag_of(client, url)

    head = client.head(url, headers={"If-None-Match": etag})
    html = client.get(url, {"format": "api"}, headers={"If-None-Match": etag, "If-Match": "*"})

    assert head.status_code == 304 and head["ETag"] == etag
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert html["ETag"] != etag  # another representation of the task, another tag
    assert client.get(url, {"format": "api"}, headers={"If-None-Match": html["ETag"]}).status_code == 304


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writes_with_the_same_etag_let_only_one_through(world, client_for, monkeypatch):
    """The check and the write hold the row lock together: the second writer waits on the
    first, then finds the version it names gone. Without the lock both would pass the check."""
    url = f"/api/v1/tasks/{world['task'].pk}/"
    etag = etag_of(client_for(world["creator"]), url)
    real_update, entered, guard = task_services.task_update, [], threading.Lock()

    def blocked_or_through():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0 or len(entered) > 1

    def first_waits_for_the_second(**kwargs):
        with guard:
            entered.append(kwargs["by"].email)
            first = len(entered) == 1
        if first:  # hold the check-passed state until the other writer is stuck (or got through)
            wait_for(blocked_or_through, timeout=20, interval=0.02, message="the second writer")
        return real_update(**kwargs)

    monkeypatch.setattr(task_services, "task_update", first_waits_for_the_second)
    statuses = {}

    def write(persona, title):
        try:
            response = client_for(world[persona]).patch(url, {"title": title}, format="json",
                                                        headers={"If-Match": etag})
            statuses[persona] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=("creator", "By creator")),
               threading.Thread(target=write, args=("manager", "By manager"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses.values()) == [200, 412], statuses
    winner = next(p for p, code in statuses.items() if code == 200)
    assert Task.objects.get(pk=world["task"].pk).title == {"creator": "By creator", "manager": "By manager"}[winner]
    assert len(entered) == 1  # the refused writer never reached the service


def _operation(schema, suffix, method):
    path = next(p for p in schema["paths"] if p.endswith(suffix))
    return schema["paths"][path][method]


def test_the_schema_documents_etag_headers_304_and_412():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "Error" in schema["components"]["schemas"]

    for base in ("/tasks/{id}/", "/comments/{id}/", "/users/{id}/", "/departments/{id}/"):
        retrieve = _operation(schema, base, "get")
        headers = {p["name"] for p in retrieve["parameters"] if p["in"] == "header"}
        assert {"If-Match", "If-None-Match"} <= headers, base
        assert {"200", "304", "412"} <= set(retrieve["responses"]), base
        assert "ETag" in retrieve["responses"]["200"]["headers"]
        assert "ETag" in retrieve["responses"]["304"]["headers"] and "content" not in retrieve["responses"]["304"]
        for method in ("put", "patch", "delete"):
            write = _operation(schema, base, method)
            assert "If-Match" in {p["name"] for p in write["parameters"] if p["in"] == "header"}, (base, method)
            assert write["responses"]["412"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            assert "304" not in write["responses"]
        assert "ETag" in _operation(schema, base, "patch")["responses"]["200"]["headers"]

    for action in ("assign", "unassign", "delegate", "mark_done"):
        assert "412" in _operation(schema, "/tasks/{id}/" + action + "/", "post")["responses"], action
    listing = _operation(schema, "/api/v1/tasks/", "get")
    assert "412" not in listing["responses"]
    assert "If-Match" not in {p["name"] for p in listing.get("parameters", [])}
