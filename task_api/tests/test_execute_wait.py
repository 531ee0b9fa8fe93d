"""Submit and wait: `POST execute/?wait=N` answers the finished execution, or 202 when it is not done in time."""

import time
from contextlib import ExitStack

import pytest
from django.conf import settings

from core.long_poll import long_poll_slot
from task_api.models import TaskExecution
from task_api.registry import registry
from task_api.services import EXECUTION_HEADER, lifecycle
from task_api.tests import sample_tasks

URL = "/api/v1/task-api/execute/"
ADD_BODY = {"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": {}}
DETAIL_FIELDS = {"id", "task_name", "status", "result", "is_complete", "duration", "progress", "traceback"}


def run_to_success(execution_id, result=3):
    """What a worker does with an execution: claim it, then record its result."""
    assert lifecycle.execution_claim(execution_id=execution_id, time_limit=None)
    lifecycle.execution_succeeded(execution_id=execution_id, result=result)


@pytest.fixture
def instant_worker(monkeypatch):
    """A 'worker' that finishes every execution the moment its message is sent (result 3)."""

    def apply_async(args=None, kwargs=None, headers=None, **options):
        run_to_success(headers[EXECUTION_HEADER])

    for entry in registry.all():
        monkeypatch.setattr(entry.task, "apply_async", apply_async)


@pytest.mark.parametrize("wait", ["0", "-1", "30.5", "abc", "nan", "inf"])
def test_a_wait_out_of_range_or_not_a_number_is_a_400_naming_wait(runner, client_for, sent, wait):
    response = client_for(runner).post(f"{URL}?wait={wait}", ADD_BODY, format="json")

    assert response.status_code == 400
    assert "wait" in response.json()
    assert TaskExecution.objects.count() == 0 and sent == []


@pytest.mark.django_db(transaction=True)
def test_a_run_finished_within_the_wait_is_answered_200_with_the_execution(
    runner, client_for, instant_worker, fresh_watcher, django_assert_max_num_queries
):
    client = client_for(runner)

    with django_assert_max_num_queries(12):
        response = client.post(f"{URL}?wait=5", ADD_BODY, format="json")

    body = response.json()
    assert response.status_code == 200
    assert DETAIL_FIELDS <= set(body)
    assert (body["status"], body["result"], body["is_complete"]) == ("SUCCESS", 3, True)
    assert body == client.get(f"/api/v1/task-api/executions/{body['id']}/").json()


@pytest.mark.django_db(transaction=True)
def test_a_run_not_finished_within_the_wait_is_answered_202_as_without_it(runner, client_for, sent, fresh_watcher):
    started = time.monotonic()
    response = client_for(runner).post(f"{URL}?wait=0.3", ADD_BODY, format="json")

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 202
    assert set(response.json()) == {"execution_id", "celery_task_id", "status", "message"}
    assert response.json()["status"] == "PENDING"
    assert len(sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_user_at_the_long_poll_cap_gets_429_and_nothing_is_submitted(runner, client_for, sent):
    with ExitStack() as held:
        for _ in range(settings.LONG_POLL_PER_USER):
            held.enter_context(long_poll_slot(runner, seconds=5))
        response = client_for(runner).post(f"{URL}?wait=5", ADD_BODY, format="json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "detail" in response.json()
    assert TaskExecution.objects.count() == 0 and sent == []


@pytest.mark.django_db(transaction=True)
def test_an_idempotent_repeat_with_wait_answers_the_original(runner, client_for, sent, fresh_watcher):
    client = client_for(runner)
    first = client.post(URL, ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    unfinished = client.post(f"{URL}?wait=0.2", ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    run_to_success(first.json()["execution_id"])
    finished = client.post(f"{URL}?wait=5", ADD_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (first.status_code, unfinished.status_code, finished.status_code) == (202, 200, 200)
    assert unfinished.json()["execution_id"] == first.json()["execution_id"]
    assert (finished.json()["id"], finished.json()["status"]) == (first.json()["execution_id"], "SUCCESS")
    assert TaskExecution.objects.count() == 1 and len(sent) == 1


@pytest.mark.services
def test_with_a_real_worker_submit_and_wait_answers_the_result(celery_process, runner, client_for, tmp_path):
    celery_process("worker", extra_args=["--include", "task_api.tests.sample_tasks"])
    client = client_for(runner)
    go = tmp_path / "go"

    done = client.post(
        f"{URL}?wait=20", {"task_name": sample_tasks.write_marker.name, "args": ["/dev/null", "waited"]}, format="json"
    )
    slow = client.post(
        f"{URL}?wait=1", {"task_name": sample_tasks.wait_for_file.name, "args": [str(go)]}, format="json"
    )
    go.touch()

    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["result"], done.json()["is_complete"]) == ("SUCCESS", "waited", True)
    assert slow.status_code == 202, slow.json()
    assert slow.json()["status"] in ("PENDING", "STARTED", "PROGRESS")
