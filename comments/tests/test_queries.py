"""Every list and detail endpoint runs a fixed number of queries whatever the page size."""

import pytest

from .factories import CommentFactory

# Authentication is forced, so these are the endpoint's own queries.
LIST_QUERIES = 2  # count, page
TASK_LIST_QUERIES = 3  # the task, count, page
DETAIL_QUERIES = 1


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
@pytest.mark.parametrize("page_size", [1, 100])
@pytest.mark.parametrize("path", ["/api/v1/comments/"])
def test_lists(path, page_size, persona, cast, many, client_for, django_assert_max_num_queries):
    client = client_for(cast[persona])

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(path, {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 24)


@pytest.mark.parametrize("page_size", [1, 100])
def test_task_comments(page_size, cast, many, client_for, django_assert_max_num_queries):
    task = many[0]
    CommentFactory.create_batch(5, task=task, author=cast["creator"])
    client = client_for(cast["manager"])

    with django_assert_max_num_queries(TASK_LIST_QUERIES):
        response = client.get(f"/api/v1/tasks/{task.pk}/comments/", {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 7)


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
def test_comment_detail(persona, cast, many, client_for, django_assert_max_num_queries):
    comment = many[3].comments.first()
    client = client_for(cast[persona])

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/comments/{comment.pk}/")

    assert response.status_code == 200
