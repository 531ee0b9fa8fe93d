from unittest import mock

import pytest
from django.utils import timezone

from comments.models import Comment

from .factories import CommentFactory, TaskFactory


def test_create_answers_the_contract_shape(cast, task, client_for):
    with mock.patch("notifications.services.notify_task_commented") as notify:
        response = client_for(cast["assignee"]).post(
            "/api/v1/comments/", {"task": task.pk, "content": "On it"}
        )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "task", "author", "content", "created_at"}
    assert (body["task"], body["author"], body["content"]) == (task.pk, cast["assignee"].pk, "On it")
    notify.assert_called_once_with(comment=Comment.objects.get(pk=body["id"]))


def test_task_comments_are_newest_first_and_paginated(cast, task, client_for):
    older = CommentFactory(task=task, author=cast["creator"])
    newer = CommentFactory(task=task, author=cast["assignee"])
    CommentFactory(author=cast["creator"])  # on another task

    response = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/comments/", {"page_size": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [newer.pk]
    page_two = client_for(cast["creator"]).get(body["next"]).json()
    assert [c["id"] for c in page_two["results"]] == [older.pk]


def test_task_comment_create_takes_the_task_from_the_url(cast, task, client_for):
    other = TaskFactory(creator=cast["assignee"])

    response = client_for(cast["assignee"]).post(
        f"/api/v1/tasks/{task.pk}/comments/", {"content": "here", "task": other.pk}
    )

    assert response.status_code == 201
    assert Comment.objects.get(pk=response.json()["id"]).task_id == task.pk


def test_a_comment_cannot_be_moved_to_another_task(cast, task, client_for):
    comment = CommentFactory(task=task, author=cast["creator"])
    other = TaskFactory(creator=cast["creator"])

    response = client_for(cast["creator"]).patch(
        f"/api/v1/comments/{comment.pk}/", {"task": other.pk, "content": "moved?"}
    )

    assert response.status_code == 200
    comment.refresh_from_db()
    assert (comment.task_id, comment.content) == (task.pk, "moved?")


def test_comments_of_a_soft_deleted_task_do_not_exist(cast, task, client_for):
    comment = CommentFactory(task=task, author=cast["creator"])
    task.deleted_at = timezone.now()
    task.save(update_fields=["deleted_at"])
    ceo = client_for(cast["ceo"])

    assert ceo.get("/api/v1/comments/").json()["count"] == 0
    assert ceo.get(f"/api/v1/comments/{comment.pk}/").status_code == 404
    assert ceo.delete(f"/api/v1/comments/{comment.pk}/").status_code == 404
    assert ceo.get(f"/api/v1/tasks/{task.pk}/comments/").status_code == 404
    assert ceo.post(f"/api/v1/tasks/{task.pk}/comments/", {"content": "x"}).status_code == 404
    response = ceo.post("/api/v1/comments/", {"task": task.pk, "content": "x"})
    assert response.status_code == 400
    assert "task" in response.json()
    assert Comment.objects.count() == 1


def test_list_filters_by_task(cast, task, client_for):
    mine = CommentFactory(task=task, author=cast["creator"])
    CommentFactory(task=TaskFactory(creator=cast["creator"]), author=cast["creator"])

    response = client_for(cast["creator"]).get("/api/v1/comments/", {"task": task.pk})

    assert [c["id"] for c in response.json()["results"]] == [mine.pk]


@pytest.mark.parametrize(
    "body",
    [
        {"task": "abc", "content": "x"},
        {"task": 10**20, "content": "x"},
        {"task": None, "content": "x"},
        {"content": "x"},
        {"task": "TASK", "content": ""},
        {"task": "TASK", "content": "   "},
        {"task": "TASK"},
        {"task": "TASK", "content": "x" * 20_001},
        {"task": "TASK", "content": ["not", "text"]},
    ],
)
def test_bad_comment_input_is_a_json_400(body, cast, task, client_for):
    body = {k: (task.pk if v == "TASK" else v) for k, v in body.items()}

    response = client_for(cast["creator"]).post("/api/v1/comments/", body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert not Comment.objects.exists()


@pytest.mark.parametrize("query", [{"task": "abc"}, {"task": "1.5"}, {"author": "x"}])
def test_bad_filters_are_a_400(query, cast, client_for):
    response = client_for(cast["creator"]).get("/api/v1/comments/", query)

    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/tasks/{huge}/comments/", "/api/v1/comments/{huge}/"])
def test_out_of_range_ids_are_a_404(path, cast, client_for):
    response = client_for(cast["ceo"]).get(path.format(huge=10**20))

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/comments/", "/api/v1/tasks/1/comments/"])
def test_anonymous_requests_are_refused(path, api_client):
    assert api_client.get(path).status_code == 401
