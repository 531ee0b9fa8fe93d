"""Malformed input never produces a 5xx or a non-JSON answer, on any endpoint of the schema."""

import re

import pytest

from core.tests.test_ops import schema

GARBAGE_BODIES = [
    None,
    [],
    "text",
    12345678901234567890,
    {"id": "x", "task": "abc", "assignees": "1,2", "to": [], "due_date": "yesterday", "file": "x"},
    {"args": {"a": 1}, "kwargs": [1], "task_name": 7, "scheduled_at": "not-a-date", "expires_at": 5},
    {"status": {"$ne": 1}, "priority": None, "department": -1, "page_size": "many", "role": "god"},
    {"email": ["a"], "password": {"x": 1}, "refresh": 1, "name": "x" * 5000, "content": None},
]
GARBAGE_QUERIES = [
    {"page": "-1", "page_size": "abc"},
    {"page": "99999"},
    {"status": "nope", "priority": "x", "assignee": "abc", "due_before": "soon", "overdue": "maybe"},
    {"ordering": "password", "search": "\x00", "department": "x", "created_after": "2020-13-45"},
    {"external_id": "not-a-uuid", "unread": "perhaps", "task": "x", "wait": "-5"},
]


@pytest.fixture
def existing_ids(people, settings, tmp_path):
    """Real objects, so detail endpoints parse the garbage instead of answering 404 first."""
    settings.MEDIA_ROOT = tmp_path
    from accounts.services import api_key_create
    from attachments.tests.factories import upload
    from notifications.tests.factories import NotificationFactory
    from task_api.tests.factories import TaskExecutionFactory
    from tasks.models import TaskAssignment
    from tasks.tests.factories import CommentFactory, TaskFactory

    task = TaskFactory(creator=people["creator"], assignees=[people["assignee"]])
    return {
        "tasks": task.pk,
        "comments": CommentFactory(task=task, author=people["ceo"]).pk,
        "attachments": upload(task=task, by=people["creator"]).pk,
        "users": people["outsider"].pk,
        "departments": people["dept_b"].pk,
        "api-keys": api_key_create(user=people["ceo"], name="k")[0].pk,
        "notifications": NotificationFactory(recipient=people["ceo"]).pk,
        "task-assignments": TaskAssignment.objects.create(task=task, assigned_to=people["assignee"]).pk,
        "executions": TaskExecutionFactory(user=people["ceo"]).pk,
    }


def concrete(path, existing_ids):
    """The path with each `{param}` replaced by the id of an existing object of that resource."""
    def fill(match):
        resource = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        return str(existing_ids.get(resource, 1))

    return re.sub(r"{(\w+)}", fill, path)


def operations():
    found = [(method, path) for path, item in schema()["paths"].items() for method in item]
    # Deletes last, so every other endpoint still finds its object.
    return sorted(found, key=lambda op: op[0] == "delete")


@pytest.mark.django_db
def test_no_endpoint_answers_5xx_or_html_to_garbage(people, client_for, existing_ids):
    client = client_for(people["ceo"])
    checked = 0
    refused_as_bad_input = set()
    for method, path in operations():
        url = concrete(path, existing_ids)
        if method == "get":
            attempts = [client.get(url, query) for query in GARBAGE_QUERIES]
        else:
            attempts = [getattr(client, method)(url, body, format="json") for body in GARBAGE_BODIES]
            attempts.append(
                client.generic(method.upper(), url, b"{broken json", content_type="application/json")
            )
        for response in attempts:
            checked += 1
            assert response.status_code < 500, (method, url, response.status_code)
            if response.status_code >= 400:
                assert response["Content-Type"].startswith("application/json"), (method, url)
            if response.status_code == 400:
                refused_as_bad_input.add((method, path))
    assert checked > 200
    # The garbage reached the validation of the detail endpoints, not just a 404.
    for expected in [("patch", "/api/v1/tasks/{id}/"), ("post", "/api/v1/tasks/{id}/assign/"),
                     ("patch", "/api/v1/comments/{id}/"), ("post", "/api/v1/task-api/execute/")]:
        assert expected in refused_as_bad_input, expected
