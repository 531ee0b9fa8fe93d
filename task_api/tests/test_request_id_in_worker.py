"""A request's X-Request-ID reaches the worker: the task it enqueued logs under the same id (LOG_FORMAT=json)."""

import json

import pytest

from conftest import wait_for
from task_api.tests import sample_tasks

pytestmark = pytest.mark.services

EXECUTE = "/api/v1/task-api/execute/"


def json_lines(text):
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


def test_the_worker_logs_the_task_a_request_caused_with_the_request_id(celery_process, runner, client_for):
    worker = celery_process(
        "worker", env={"LOG_FORMAT": "json"}, extra_args=["--include", "task_api.tests.sample_tasks"]
    )
    client = client_for(runner)

    response = client.post(
        EXECUTE,
        {"task_name": sample_tasks.write_marker.name, "args": ["/dev/null", "traced"]},
        format="json",
        HTTP_X_REQUEST_ID="trace-me-42",
    )
    celery_task_id = response.json()["celery_task_id"]

    def task_lines():
        found = [line for line in json_lines(worker.log()) if celery_task_id in line["message"]]
        return found if any("succeeded" in line["message"] for line in found) else None

    lines = wait_for(task_lines, timeout=20, interval=0.1, message="the task's log line")
    succeeded = next(line for line in lines if "succeeded" in line["message"])
    assert response["X-Request-ID"] == "trace-me-42"
    assert succeeded["request_id"] == "trace-me-42"
    assert {"timestamp", "level", "logger", "message"} <= set(succeeded)
    assert succeeded["level"] == "INFO" and succeeded["logger"].startswith("celery")
    others = [line for line in json_lines(worker.log()) if celery_task_id not in line["message"]]
    assert others and all(line["request_id"] is None for line in others), "another line took the id"
