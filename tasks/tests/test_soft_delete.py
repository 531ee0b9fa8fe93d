"""A deleted task leaves every API answer (tasks, task_stats, audit) but stays in the database."""

import pytest

from tasks.models import Task


@pytest.fixture
def deleted(cast, task, client_for):
    response = client_for(cast["creator"]).delete(f"/api/v1/tasks/{task.pk}/")
    assert response.status_code == 204
    return task


def test_delete_keeps_the_row(deleted):
    assert not Task.objects.filter(pk=deleted.pk).exists()
    assert Task.all_objects.get(pk=deleted.pk).deleted_at is not None


@pytest.mark.parametrize("persona", ["ceo", "creator", "assignee"])
def test_deleted_task_leaves_list_and_detail(persona, cast, deleted, client_for):
    client = client_for(cast[persona])

    assert client.get("/api/v1/tasks/").json()["count"] == 0
    for suffix in ("", "history/"):
        assert client.get(f"/api/v1/tasks/{deleted.pk}/{suffix}").status_code == 404
    assert client.patch(f"/api/v1/tasks/{deleted.pk}/", {"status": "done"}).status_code == 404


def test_deleted_task_leaves_task_assignments(cast, deleted, client_for):
    assert client_for(cast["ceo"]).get("/api/v1/task-assignments/").json()["count"] == 0


def test_deleted_task_leaves_task_stats(cast, task, client_for):
    def stats():
        users = client_for(cast["ceo"]).get("/api/v1/users/", {"page_size": 100}).json()["results"]
        return next(u["task_stats"] for u in users if u["id"] == cast["assignee"].pk)

    assert stats()["total"] == stats()["todo"] == 1
    client_for(cast["creator"]).delete(f"/api/v1/tasks/{task.pk}/")

    assert stats() == {"total": 0, "todo": 0, "in_progress": 0, "done": 0, "failed": 0, "overdue": 0}


def test_deleting_twice_is_404(cast, deleted, client_for):
    assert client_for(cast["creator"]).delete(f"/api/v1/tasks/{deleted.pk}/").status_code == 404
