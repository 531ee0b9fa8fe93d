from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from task_api.models import TaskExecution
from task_api.tests.factories import TaskExecutionFactory, grant

LIST_URL = "/api/v1/task-api/executions/"
AVAILABLE_URL = "/api/v1/task-api/available/"
Status = TaskExecution.Status


def detail_url(execution):
    return f"{LIST_URL}{execution.pk}/"


def test_detail_shape_with_duration(runner, client_for):
    started = timezone.now() - timedelta(hours=1, minutes=2, seconds=3)
    execution = TaskExecutionFactory(
        user=runner,
        status=Status.SUCCESS,
        result=3,
        started_at=started,
        completed_at=started + timedelta(hours=1, minutes=2, seconds=3, milliseconds=400),
        progress={"percent": 100, "message": "done"},
    )

    body = client_for(runner).get(detail_url(execution)).json()

    assert set(body) == {
        "id",
        "task_name",
        "celery_task_id",
        "status",
        "result",
        "args",
        "kwargs",
        "created_at",
        "scheduled_at",
        "started_at",
        "completed_at",
        "duration",
        "is_complete",
        "error",
        "traceback",
        "progress",
    }
    assert body["id"] == str(execution.pk)
    assert (body["status"], body["result"], body["duration"], body["is_complete"]) == ("SUCCESS", 3, "1:02:03", True)
    assert body["progress"] == {"percent": 100, "message": "done"}
    assert (body["traceback"], body["error"]) == (None, None)


def test_unfinished_execution_has_no_duration(runner, client_for):
    execution = TaskExecutionFactory(user=runner, status=Status.STARTED, started_at=timezone.now())

    body = client_for(runner).get(detail_url(execution)).json()

    assert (body["duration"], body["is_complete"]) == (None, False)


def test_another_users_execution_is_404(runner, client_for):
    theirs = TaskExecutionFactory()

    assert client_for(runner).get(detail_url(theirs)).status_code == 404
    assert client_for(runner).post(f"{detail_url(theirs)}cancel/").status_code == 404
    assert client_for(runner).get(f"{LIST_URL}not-a-uuid/").status_code == 404


def test_list_shows_only_own_executions_newest_first(runner, client_for):
    older = TaskExecutionFactory(user=runner, created_at=timezone.now() - timedelta(minutes=5))
    newer = TaskExecutionFactory(user=runner)
    TaskExecutionFactory()

    body = client_for(runner).get(LIST_URL).json()

    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(newer.pk), str(older.pk)]
    assert set(body) == {"count", "count_exact", "next", "previous", "results"}
    assert body["count_exact"] is True


def test_list_filters(runner, client_for):
    now = timezone.now()
    TaskExecutionFactory(user=runner, status=Status.SUCCESS, created_at=now - timedelta(days=2))
    failed = TaskExecutionFactory(user=runner, status=Status.FAILURE, task_name="tasks.reports.tasks_summary_report")
    client = client_for(runner)

    def ids(query):
        response = client.get(LIST_URL, query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids({"status": "FAILURE"}) == [str(failed.pk)]
    assert ids({"task_name": "tasks.reports.tasks_summary_report"}) == [str(failed.pk)]
    assert ids({"created_after": (now - timedelta(days=1)).isoformat()}) == [str(failed.pk)]
    assert len(ids({"created_before": (now - timedelta(days=1)).isoformat()})) == 1
    assert client.get(LIST_URL, {"status": "NOPE"}).status_code == 400
    assert client.get(LIST_URL, {"created_after": "yesterday"}).status_code == 400


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_and_detail_run_a_fixed_number_of_queries(runner, client_for, django_assert_max_num_queries, page_size):
    executions = TaskExecutionFactory.create_batch(120, user=runner, status=Status.SUCCESS)
    client = client_for(runner)

    with django_assert_max_num_queries(2):
        response = client.get(LIST_URL, {"page_size": page_size})
    with django_assert_max_num_queries(1):
        assert client.get(detail_url(executions[0])).status_code == 200

    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("initial", [Status.SCHEDULED, Status.PENDING])
def test_cancel_revokes_a_waiting_execution(
    runner, client_for, monkeypatch, django_capture_on_commit_callbacks, initial
):
    from config.celery import app

    revoked = []
    monkeypatch.setattr(app.control, "revoke", lambda task_id, **kw: revoked.append(task_id))
    execution = TaskExecutionFactory(user=runner, status=initial)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(runner).post(f"{detail_url(execution)}cancel/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["is_complete"]) == ("REVOKED", True)
    execution.refresh_from_db()
    assert execution.status == Status.REVOKED and execution.completed_at is not None
    # only a message already sent is worth a best-effort revoke broadcast
    assert revoked == ([execution.celery_task_id] if initial == Status.PENDING else [])


@pytest.mark.parametrize(
    "state", [Status.STARTED, Status.PROGRESS, Status.RETRY, Status.SUCCESS, Status.FAILURE, Status.REVOKED]
)
def test_cancel_in_any_other_state_is_409(runner, client_for, state):
    execution = TaskExecutionFactory(user=runner, status=state)

    response = client_for(runner).post(f"{detail_url(execution)}cancel/")

    assert response.status_code == 409
    assert state in response.json()["detail"]
    execution.refresh_from_db()
    assert execution.status == state


def test_available_lists_only_tasks_the_user_may_run(db, client_for):
    reporter = grant(UserFactory(), "task_api.run_reports")
    both = grant(UserFactory(), "task_api.run_reports", "task_api.send_emails")

    def names(user):
        return {row["task_name"] for row in client_for(user).get(AVAILABLE_URL).json()}

    assert names(UserFactory()) == set()
    assert names(reporter) == {"tasks.reports.tasks_summary_report"}
    assert names(both) >= {
        "tasks.reports.tasks_summary_report",
        "accounts.tasks.send_verification_email",
        "task_api.tests.sample_tasks.two_permissions",
    }
    assert "task_api.tasks.add" not in names(both)


def test_available_entry_shape(db, client_for, django_assert_max_num_queries):
    user = grant(UserFactory(), "task_api.run_benchmarks")
    client = client_for(user)

    with django_assert_max_num_queries(2):
        rows = client.get(AVAILABLE_URL).json()

    add = next(row for row in rows if row["task_name"] == "task_api.tasks.add")
    assert add == {
        "task_name": "task_api.tasks.add",
        "description": "Add two numbers: a cheap task for checks and benchmarks.",
        "permissions": ["task_api.run_benchmarks"],
        "parameters": [
            {"name": "x", "kind": "positional", "required": True, "default": None},
            {"name": "y", "kind": "positional", "required": True, "default": None},
        ],
    }


def test_superuser_sees_every_registered_task(db, client_for):
    from accounts.models import User
    from task_api.registry import registry

    root = User.objects.create_superuser(email="root@example.com", password="x", name="Root")

    rows = client_for(root).get(AVAILABLE_URL).json()

    assert [row["task_name"] for row in rows] == [entry.name for entry in registry.all()]


def test_wait_returns_the_current_state_when_the_run_does_not_finish_in_time(runner, client_for):
    execution = TaskExecutionFactory(user=runner, status=Status.STARTED, started_at=timezone.now())

    body = client_for(runner).get(detail_url(execution), {"wait": 0.1}).json()

    assert (body["status"], body["is_complete"]) == ("STARTED", False)


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_wait_out_of_range_is_400(runner, client_for, wait):
    execution = TaskExecutionFactory(user=runner)

    response = client_for(runner).get(detail_url(execution), {"wait": wait})

    assert response.status_code == 400
    assert "wait" in response.json()


def test_executions_render_their_own_values(runner, client_for):
    # The output serializer's fields are built once and shared; each response is still its own.
    first = TaskExecutionFactory(user=runner, status=Status.SUCCESS, result={"n": 1}, args=[1, 1])
    second = TaskExecutionFactory(
        user=runner, status=Status.FAILURE, result=None, args=[2], traceback="boom", error="RuntimeError: boom"
    )
    client = client_for(runner)

    bodies = [client.get(detail_url(execution)).json() for execution in (first, second, first)]

    assert [(b["id"], b["status"], b["result"], b["args"]) for b in bodies] == [
        (str(first.pk), "SUCCESS", {"n": 1}, [1, 1]),
        (str(second.pk), "FAILURE", None, [2]),
        (str(first.pk), "SUCCESS", {"n": 1}, [1, 1]),
    ]
    assert (bodies[1]["error"], bodies[1]["traceback"]) == ("RuntimeError: boom", None)  # traceback: staff only
