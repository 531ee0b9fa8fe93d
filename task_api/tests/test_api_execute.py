import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from accounts.services import api_key_create
from accounts.tests.factories import UserFactory
from core.throttling import ScopedRateLimitThrottle
from task_api.models import TaskExecution
from task_api.services import EXECUTION_HEADER
from task_api.tests.factories import TaskExecutionFactory, grant

URL = "/api/v1/task-api/execute/"
TWO_PERMS = "task_api.tests.sample_tasks.two_permissions"
TWO_PERMS_BODY = {"task_name": TWO_PERMS, "args": [1], "kwargs": {"c": "z"}}
ADD_BODY = {"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": {}}


def api_key_client(user):
    _, raw_key = api_key_create(user=user, name="service")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.mark.parametrize(
    "who, expected",
    [
        ("nobody", 403),
        ("partial", 403),
        ("full", 202),
        ("superuser", 202),
        ("api_key_full", 202),
        ("api_key_partial", 403),
    ],
)
def test_permission_matrix(db, client_for, sent, who, expected):
    user = UserFactory()
    if who.endswith("partial"):
        user = grant(user, "task_api.run_reports")
    elif who.endswith("full"):
        user = grant(user, "task_api.run_reports", "task_api.send_emails")
    elif who == "superuser":
        user = User.objects.create_superuser(email="root@example.com", password="x", name="Root")
    client = api_key_client(user) if who.startswith("api_key") else client_for(user)

    response = client.post(URL, TWO_PERMS_BODY, format="json")

    assert response.status_code == expected, response.json()
    if expected == 403:
        assert "task_api.send_emails" in response.json()["detail"]
        assert not TaskExecution.objects.exists()
        assert sent == []
    else:
        assert TaskExecution.objects.get().user == user


def test_anonymous_is_refused(db, api_client):
    assert api_client.post(URL, ADD_BODY, format="json").status_code == 401


@pytest.mark.parametrize("task_name", ["no.such.task", "core.tasks.ping", "task_api.tasks.dispatch_due_executions"])
def test_unknown_and_unregistered_tasks_answer_404(runner, client_for, task_name):
    response = client_for(runner).post(URL, {"task_name": task_name}, format="json")

    assert response.status_code == 404
    assert task_name in response.json()["detail"]


def test_execute_creates_the_row_and_sends_after_commit(runner, client_for, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(runner).post(URL, ADD_BODY, format="json")
        assert sent == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()
    assert response.status_code == 202
    body = response.json()
    execution = TaskExecution.objects.get()
    assert body == {
        "execution_id": str(execution.pk),
        "celery_task_id": execution.celery_task_id,
        "status": "PENDING",
        "message": "Task submitted.",
    }
    assert (execution.user, execution.args, execution.kwargs) == (runner, [1, 2], {})
    assert execution.dispatched_at is not None
    [message] = sent
    assert message["task"] == "task_api.tasks.add"
    assert message["task_id"] == execution.celery_task_id
    assert message["headers"] == {EXECUTION_HEADER: str(execution.pk)}
    assert (message["args"], message["kwargs"]) == ([1, 2], {})


def test_broker_down_still_answers_202_and_leaves_the_row_for_the_dispatcher(
    runner, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    from task_api.registry import registry

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(registry.get("task_api.tasks.add").task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(runner).post(URL, ADD_BODY, format="json")

    assert response.status_code == 202
    execution = TaskExecution.objects.get()
    assert execution.status == TaskExecution.Status.PENDING
    assert execution.dispatched_at is None


def test_scheduled_execution_waits_in_the_database(runner, client_for, sent, django_capture_on_commit_callbacks):
    when = timezone.now() + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(runner).post(URL, {**ADD_BODY, "scheduled_at": when.isoformat()}, format="json")

    assert response.status_code == 202
    assert response.json()["status"] == "SCHEDULED"
    execution = TaskExecution.objects.get()
    assert (execution.status, execution.scheduled_at, execution.dispatched_at) == ("SCHEDULED", when, None)
    assert sent == []


@pytest.mark.parametrize(
    "body, field, problem",
    [
        ({"task_name": "task_api.tasks.add", "args": [1]}, "arguments", "missing a required argument: 'y'"),
        ({"task_name": "task_api.tasks.add", "args": [1, 2, 3]}, "arguments", "too many positional"),
        ({"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": {"z": 1}}, "arguments", "'z'"),
        ({"task_name": "task_api.tasks.add", "args": {"x": 1}}, "args", "JSON list"),
        ({"task_name": "task_api.tasks.add", "args": "1,2"}, "args", "JSON list"),
        ({"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": [1]}, "kwargs", "JSON object"),
        ({"task_name": "task_api.tasks.add", "args": None}, "args", "null"),
        ({"args": [1, 2]}, "task_name", "required"),
        ({"task_name": ["x"]}, "task_name", "valid string"),
        ({**ADD_BODY, "scheduled_at": "2020-01-01T00:00:00Z"}, "scheduled_at", "future"),
        ({**ADD_BODY, "scheduled_at": "tomorrow"}, "scheduled_at", "format"),
    ],
)
def test_bad_arguments_answer_400_naming_the_problem(runner, client_for, sent, body, field, problem):
    response = client_for(runner).post(URL, body, format="json")

    assert response.status_code == 400
    assert problem in str(response.json()[field])
    assert not TaskExecution.objects.exists()


def test_non_json_body_is_refused(runner, client_for):
    response = client_for(runner).post(URL, "task_name=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


def test_oversized_arguments_answer_413(runner, client_for, settings):
    settings.TASK_API_MAX_PAYLOAD_BYTES = 100

    response = client_for(runner).post(URL, {**ADD_BODY, "args": ["x" * 200, 1]}, format="json")

    assert response.status_code == 413
    assert not TaskExecution.objects.exists()


def test_idempotent_repeat_returns_the_original_execution(runner, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(runner)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        again = client.post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.json()["celery_task_id"] == first.json()["celery_task_id"]
    assert TaskExecution.objects.count() == 1
    assert len(sent) == 1


def test_same_key_with_another_body_is_a_conflict(runner, client_for, sent):
    client = client_for(runner)
    client.post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    response = client.post(URL, {**ADD_BODY, "args": [2, 2]}, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert response.status_code == 409
    assert TaskExecution.objects.count() == 1


def test_keys_are_per_user(runner, client_for, sent):
    other = grant(UserFactory(), "task_api.run_benchmarks")
    client_for(runner).post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    response = client_for(other).post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert response.status_code == 202
    assert TaskExecution.objects.count() == 2


def test_keys_are_remembered_24_hours_then_released(runner, client_for, sent):
    old = TaskExecutionFactory(user=runner, idempotency_key="abc", created_at=timezone.now() - timedelta(hours=23))
    assert (
        client_for(runner)
        .post(URL, {**ADD_BODY, "args": [5, 5]}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        .status_code
        == 409
    )
    TaskExecution.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    response = client_for(runner).post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert response.status_code == 202
    assert response.json()["execution_id"] != str(old.pk)
    old.refresh_from_db()
    assert old.idempotency_key is None


def test_execute_is_throttled_per_user(runner, client_for, sent, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "task_api_execute", "2/min")
    # A fixed window aligned to the clock: 20 s into a minute, the cap frees in 40 s.
    monkeypatch.setattr(ScopedRateLimitThrottle, "timer", staticmethod(lambda: 1_800_000_000 + 20.0))
    client = client_for(runner)

    responses = [client.post(URL, ADD_BODY, format="json") for _ in range(3)]
    other = grant(UserFactory(), "task_api.run_benchmarks")

    assert [response.status_code for response in responses] == [202, 202, 429]
    assert responses[2]["Retry-After"] == "40"
    assert TaskExecution.objects.filter(user=runner).count() == 2
    assert client_for(other).post(URL, ADD_BODY, format="json").status_code == 202


def test_a_repeated_token_authenticated_execute_costs_one_query(runner, sent, settings, django_assert_num_queries):
    settings.PERMISSIONS_CACHE_SECONDS = 300
    settings.AUTH_CACHE_SECONDS = 60
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=runner).key}")
    assert client.post(URL, ADD_BODY, format="json").status_code == 202  # caches the user and permissions

    # The execution's INSERT: the token's user and the permission set come from the cache.
    with django_assert_num_queries(1):
        assert client.post(URL, ADD_BODY, format="json").status_code == 202


def test_execute_runs_a_fixed_number_of_queries(runner, client_for, sent, django_assert_max_num_queries):
    client = client_for(runner)
    with django_assert_max_num_queries(6):
        assert client.post(URL, ADD_BODY, format="json").status_code == 202


def test_execution_ids_are_uuids(runner, client_for, sent):
    body = client_for(runner).post(URL, ADD_BODY, format="json").json()

    assert uuid.UUID(body["execution_id"]) and uuid.UUID(body["celery_task_id"])
