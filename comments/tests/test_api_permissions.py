"""Every persona against every comment action on one dept_a task.

Refused writes must leave the comments, the attachments and the files on disk as they were.
"""

import pytest

from comments.models import Comment
from comments.tests.conftest import PERSONAS, SEES_TASK, expect

from .factories import CommentFactory


@pytest.mark.parametrize("persona", PERSONAS)
def test_comment_list(persona, cast, task, world, client_for):
    response = client_for(cast[persona]).get("/api/v1/comments/", {"task": task.pk})

    assert response.status_code == 200
    ids = [c["id"] for c in response.json()["results"]]
    assert ids == ([world["comment"].pk] if persona in SEES_TASK else [])


@pytest.mark.parametrize("persona", PERSONAS)
def test_task_comment_list(persona, cast, task, world, client_for):
    response = client_for(cast[persona]).get(f"/api/v1/tasks/{task.pk}/comments/")

    assert response.status_code == expect(persona, allowed=200, granted_to=SEES_TASK)
    if response.status_code == 200:
        assert [c["id"] for c in response.json()["results"]] == [world["comment"].pk]


@pytest.mark.parametrize("persona", PERSONAS)
def test_comment_create(persona, cast, task, world, client_for):
    before = world["snapshot"]()

    response = client_for(cast[persona]).post(
        "/api/v1/comments/", {"task": task.pk, "content": "hello"}
    )

    # Anyone who sees the task may comment; a task one cannot see does not exist.
    assert response.status_code == expect(persona, allowed=201, granted_to=SEES_TASK, invisible=400)
    if response.status_code == 201:
        assert Comment.objects.filter(author=cast[persona], task=task, content="hello").exists()
    else:
        assert "Invalid pk" in response.json()["task"][0]
        assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_task_comment_create(persona, cast, task, world, client_for):
    before = world["snapshot"]()

    response = client_for(cast[persona]).post(
        f"/api/v1/tasks/{task.pk}/comments/", {"content": "hello"}
    )

    assert response.status_code == expect(persona, allowed=201, granted_to=SEES_TASK)
    if response.status_code == 201:
        assert response.json()["task"] == task.pk
        assert response.json()["author"] == cast[persona].pk
    else:
        assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_comment_retrieve(persona, cast, world, client_for):
    response = client_for(cast[persona]).get(f"/api/v1/comments/{world['comment'].pk}/")

    assert response.status_code == expect(persona, allowed=200, granted_to=SEES_TASK)
    if response.status_code == 200:
        assert response.json()["content"] == "original"


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_update_own_comment(persona, method, cast, task, world, client_for):
    own = CommentFactory(task=task, author=cast[persona], content="mine")

    response = getattr(client_for(cast[persona]), method)(
        f"/api/v1/comments/{own.pk}/", {"content": "edited"}
    )

    # Someone who no longer sees the task (here: never did) cannot reach their old comment.
    assert response.status_code == expect(persona, allowed=200, granted_to=SEES_TASK)
    own.refresh_from_db()
    assert own.content == ("edited" if response.status_code == 200 else "mine")


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_update_others_comment(persona, method, cast, world, client_for):
    before = world["snapshot"]()

    response = getattr(client_for(cast[persona]), method)(
        f"/api/v1/comments/{world['comment'].pk}/", {"content": "hijacked"}
    )

    assert response.status_code == expect(persona, allowed=200, granted_to=set())
    assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete_own_comment(persona, cast, task, world, client_for):
    own = CommentFactory(task=task, author=cast[persona])

    response = client_for(cast[persona]).delete(f"/api/v1/comments/{own.pk}/")

    assert response.status_code == expect(persona, allowed=204, granted_to=SEES_TASK)
    assert Comment.objects.filter(pk=own.pk).exists() == (response.status_code != 204)


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete_others_comment(persona, cast, world, client_for):
    before = world["snapshot"]()

    response = client_for(cast[persona]).delete(f"/api/v1/comments/{world['comment'].pk}/")

    assert response.status_code == expect(persona, allowed=204, granted_to=set())
    assert world["snapshot"]() == before
