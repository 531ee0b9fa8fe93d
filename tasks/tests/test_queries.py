"""List and detail run a fixed number of queries whatever the page size, assignees or comments."""

import pytest

from accounts.tests.factories import UserFactory

from .factories import CommentFactory, TaskFactory

# auth is forced (no query): count + page + assignee ids for the list; the detail fetches the
# task, its assignee ids and its latest comments.
LIST_QUERIES = 3
DETAIL_QUERIES = 3


@pytest.fixture
def many_tasks(cast):
    workers = UserFactory.create_batch(4, department=cast["dept_a"])
    tasks = TaskFactory.create_batch(
        110, creator=cast["creator"], department=cast["dept_a"], assignees=[cast["assignee"], *workers]
    )
    for task in tasks[:40]:
        CommentFactory.create_batch(3, task=task, author=cast["assignee"])
    return tasks


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
@pytest.mark.parametrize("page_size", [1, 100])
def test_list_query_count(page_size, persona, cast, many_tasks, client_for, django_assert_max_num_queries):
    client = client_for(cast[persona])

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/tasks/", {"page_size": page_size})

    body = response.json()
    assert body["count"] == 110 and len(body["results"]) == page_size
    assert all(len(row["assignees"]) == 5 for row in body["results"])


@pytest.mark.parametrize("page_size", [1, 100])
def test_search_list_query_count(page_size, cast, many_tasks, client_for, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client_for(cast["manager"]).get(
            "/api/v1/tasks/", {"page_size": page_size, "search": "user", "ordering": "priority"}
        )

    assert len(response.json()["results"]) == page_size


def test_list_comment_counts(cast, many_tasks, client_for):
    rows = client_for(cast["ceo"]).get("/api/v1/tasks/", {"page_size": 100, "ordering": "created_at"}).json()
    assert [r["comments_count"] for r in rows["results"][:41]] == [3] * 40 + [0]


@pytest.mark.parametrize("persona", ["ceo", "assignee"])
def test_detail_query_count(persona, cast, many_tasks, client_for, django_assert_max_num_queries):
    task = many_tasks[0]

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client_for(cast[persona]).get(f"/api/v1/tasks/{task.pk}/")

    assert response.json()["comments_count"] == 3 and len(response.json()["latest_comments"]) == 3


@pytest.mark.parametrize("page_size", [1, 100])
def test_task_assignments_query_count(page_size, cast, many_tasks, client_for, django_assert_max_num_queries):
    from tasks.models import TaskAssignment

    TaskAssignment.objects.bulk_create(
        TaskAssignment(task=t, assigned_to=cast["assignee"], assigned_by=cast["creator"]) for t in many_tasks
    )

    with django_assert_max_num_queries(2):
        response = client_for(cast["manager"]).get("/api/v1/task-assignments/", {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [1, 100])
def test_history_query_count(page_size, cast, task, client_for, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client_for(cast["creator"]).get(f"/api/v1/tasks/{task.pk}/history/", {"page_size": page_size})

    assert len(response.json()) == 2
