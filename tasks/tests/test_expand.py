"""Seed 003 shows tasks with their people: `?expand=` turns the creator, assigned_by, assignees
and department ids into objects (and, on the detail, the latest comments' authors); every task
item carries `url`, its detail's absolute URL; the query count does not move."""

import pytest

from accounts.tests.factories import UserFactory
from tasks.models import Task

from .factories import CommentFactory, TaskFactory

ALL = "creator,assigned_by,assignees,department,author"
# As tasks/tests/test_queries.py: expanding joins into the same queries, it adds none.
LIST_QUERIES = 3
DETAIL_QUERIES = 3


def person(user):
    return {"id": user.pk, "external_id": str(user.external_id), "name": user.name, "email": user.email,
            "role": user.role}


def test_without_expand_the_relations_are_ids_and_every_item_has_its_url(cast, task, client_for):
    client = client_for(cast["creator"])

    row = client.get("/api/v1/tasks/").json()["results"][0]
    detail = client.get(f"/api/v1/tasks/{task.pk}/").json()

    assert row["url"] == detail["url"] == f"http://testserver/api/v1/tasks/{task.pk}/"
    assert (row["creator"], row["assigned_by"], row["assignees"], row["department"]) == (
        cast["creator"].pk, cast["assigner"].pk, [cast["assignee"].pk], cast["dept_a"].pk,
    )
    assert client.get(row["url"]).json() == detail


def test_the_url_follows_the_host_the_client_used(cast, task, client_for):
    response = client_for(cast["creator"]).get("/api/v1/tasks/", headers={"Host": "tasks.example.com"})

    assert response.json()["results"][0]["url"] == f"http://tasks.example.com/api/v1/tasks/{task.pk}/"


def test_list_expands_people_and_the_department(cast, task, client_for):
    response = client_for(cast["creator"]).get("/api/v1/tasks/", {"expand": "creator,assigned_by,assignees,department"})

    row = response.json()["results"][0]
    assert row["creator"] == person(cast["creator"])
    assert row["assigned_by"] == person(cast["assigner"])
    assert row["assignees"] == [person(cast["assignee"])]
    assert row["department"] == {"id": cast["dept_a"].pk, "name": "Engineering"}


def test_only_the_named_relations_expand(cast, task, client_for):
    row = client_for(cast["creator"]).get("/api/v1/tasks/", {"expand": "assignees"}).json()["results"][0]

    assert row["assignees"] == [person(cast["assignee"])]
    assert (row["creator"], row["department"]) == (cast["creator"].pk, cast["dept_a"].pk)


def test_detail_expands_the_latest_comments_authors_with_author(cast, task, client_for):
    CommentFactory(task=task, author=cast["assignee"], content="Started")
    client = client_for(cast["creator"])

    expanded = client.get(f"/api/v1/tasks/{task.external_id}/", {"expand": ALL}).json()
    plain = client.get(f"/api/v1/tasks/{task.pk}/", {"expand": "creator"}).json()

    assert expanded["latest_comments"][0]["author"] == person(cast["assignee"])
    assert expanded["creator"] == person(cast["creator"])
    assert plain["latest_comments"][0]["author"] == cast["assignee"].pk


def test_missing_relations_stay_null_when_expanded(cast, client_for):
    task = TaskFactory(creator=cast["creator"], department=None)

    row = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/", {"expand": ALL}).json()

    assert (row["assigned_by"], row["department"], row["assignees"]) == (None, None, [])
    assert row["creator"] == person(cast["creator"])


@pytest.mark.parametrize(
    "expand, named", [("owner", "'owner'"), ("creator,owner", "'owner'"), ("Creator", "'Creator'"),
                      ("creator;department", "'creator;department'"), ("creator,", "''"), (",creator", "''")]
)
def test_an_unknown_or_empty_expansion_is_a_400_naming_it(expand, named, cast, task, client_for):
    client = client_for(cast["creator"])

    for response in (
        client.get("/api/v1/tasks/", {"expand": expand}),
        client.get(f"/api/v1/tasks/{task.pk}/", {"expand": expand}),
    ):
        assert response.status_code == 400
        assert list(response.json()) == ["expand"]
        assert f"Unknown expansion: {named}." in response.json()["expand"][0]


def test_a_write_with_an_unknown_expansion_changes_nothing(cast, task, client_for):
    client = client_for(cast["creator"])

    created = client.post("/api/v1/tasks/?expand=owner", {"title": "Not made"}, format="json")
    patched = client.patch(f"/api/v1/tasks/{task.pk}/?expand=owner", {"title": "Not renamed"}, format="json")

    assert (created.status_code, patched.status_code) == (400, 400)
    assert not Task.objects.filter(title="Not made").exists()
    task.refresh_from_db()
    assert task.title == "Quarterly plan"


def test_an_empty_expand_expands_nothing(cast, task, client_for):
    client = client_for(cast["creator"])

    row = client.get("/api/v1/tasks/", {"expand": ""}).json()["results"][0]
    created = client.post("/api/v1/tasks/?expand=", {"title": "New"}, format="json")

    assert row["creator"] == cast["creator"].pk
    assert created.status_code == 201 and created.json()["creator"] == cast["creator"].pk
    assert client.get("/api/v1/tasks/", {"expand": "creator,"}).status_code == 400  # an empty item is not


def test_write_answers_carry_the_url_and_the_expansions(cast, task, client_for):
    creator = client_for(cast["creator"])

    created = creator.post("/api/v1/tasks/?expand=creator", {"title": "New"}, format="json").json()
    patched = creator.patch(f"/api/v1/tasks/{task.pk}/?expand=department", {"title": "Renamed"}, format="json").json()
    delegated = client_for(cast["assignee"]).post(
        f"/api/v1/tasks/{task.external_id}/delegate/?expand=assignees", {"to": cast["colleague"].pk}, format="json"
    ).json()

    assert created["url"] == f"http://testserver/api/v1/tasks/{created['id']}/"
    assert created["creator"] == person(cast["creator"])
    assert patched["url"] == f"http://testserver/api/v1/tasks/{task.pk}/"
    assert patched["department"] == {"id": cast["dept_a"].pk, "name": "Engineering"}
    assert delegated["url"] == patched["url"] and delegated["assignees"] == [person(cast["colleague"])]


def test_an_expanded_write_answers_the_etag_of_the_expanded_get(cast, task, client_for):
    client = client_for(cast["creator"])
    url = f"/api/v1/tasks/{task.pk}/?expand=creator,assignees"

    plain_etag = client.get(f"/api/v1/tasks/{task.pk}/")["ETag"]
    patched = client.patch(url, {"title": "Renamed"}, format="json", headers={"If-Match": client.get(url)["ETag"]})

    assert patched.status_code == 200 and patched.json()["creator"] == person(cast["creator"])
    assert patched["ETag"] == client.get(url)["ETag"] != plain_etag


@pytest.fixture
def many_tasks(cast):
    workers = UserFactory.create_batch(4, department=cast["dept_a"])
    tasks = TaskFactory.create_batch(
        60,
        creator=cast["creator"],
        assigned_by=cast["manager"],
        department=cast["dept_a"],
        assignees=[cast["assignee"], *workers],
    )
    for task in tasks[:20]:
        CommentFactory.create_batch(3, task=task, author=cast["colleague"])
    return tasks


@pytest.mark.parametrize("persona", ["ceo", "assignee"])
@pytest.mark.parametrize("page_size", [1, 50])
def test_expanded_list_query_count(page_size, persona, cast, many_tasks, client_for, django_assert_max_num_queries):
    client = client_for(cast[persona])

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/tasks/", {"page_size": page_size, "expand": ALL})

    rows = response.json()["results"]
    assert len(rows) == page_size
    assert all(len(row["assignees"]) == 5 and row["assignees"][0]["email"] for row in rows)
    assert all(row["creator"]["id"] == cast["creator"].pk and row["department"]["name"] for row in rows)
    assert all(row["assigned_by"]["id"] == cast["manager"].pk for row in rows)


@pytest.mark.parametrize("persona", ["ceo", "assignee"])
def test_expanded_detail_query_count(persona, cast, many_tasks, client_for, django_assert_max_num_queries):
    task = many_tasks[0]

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client_for(cast[persona]).get(f"/api/v1/tasks/{task.external_id}/", {"expand": ALL})

    body = response.json()
    assert len(body["latest_comments"]) == 3
    assert all(comment["author"] == person(cast["colleague"]) for comment in body["latest_comments"])
    assert len(body["assignees"]) == 5 and body["creator"]["id"] == cast["creator"].pk


@pytest.fixture
def openapi(db):
    """The project's OpenAPI schema, called in process (WSGI) inside the test's transaction."""
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_expanded_answers_match_the_openapi_schema(cast, task, openapi):
    from rest_framework.authtoken.models import Token
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    comment = CommentFactory(task=task, author=cast["assignee"])
    headers = {"Authorization": f"Token {Token.objects.create(user=cast['creator']).key}"}
    first = lambda body: body["results"][0]  # noqa: E731
    calls = [
        ("/api/v1/tasks/", "GET", {}, ALL.removesuffix(",author"), lambda b: first(b)["assignees"][0]),
        ("/api/v1/tasks/{id}/", "GET", {"id": str(task.external_id)}, ALL, lambda b: b["latest_comments"][0]["author"]),
        ("/api/v1/tasks/{id}/", "PATCH", {"id": str(task.pk)}, "creator,department", lambda b: b["department"]),
        ("/api/v1/comments/", "GET", {}, "author", lambda b: first(b)["author"]),
        ("/api/v1/comments/{id}/", "GET", {"id": str(comment.pk)}, "author", lambda b: b["author"]),
        ("/api/v1/tasks/{task_pk}/comments/", "GET", {"task_pk": str(task.external_id)}, "author",
         lambda b: first(b)["author"]),
    ]

    for path, method, path_parameters, expand, expanded in calls:
        body = {"body": {"title": "Renamed"}, "media_type": "application/json"} if method == "PATCH" else {}
        case = openapi[path][method].Case(path_parameters=path_parameters, query={"expand": expand}, **body)

        response = case.call(headers=headers)

        assert response.status_code == 200, (path, response.text)
        assert isinstance(expanded(response.json()), dict), (path, response.text)
        case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])
