"""Registered tasks for the tests; a test worker imports them with `--include`."""

import time
from pathlib import Path

from celery import shared_task

from task_api.decorators import api_task, report_progress

PERM = "task_api.run_benchmarks"


@api_task([PERM], "Append a line to a file: a side effect tests can count.")
@shared_task
def write_marker(path: str, text: str = "ran") -> str:
    with open(path, "a") as marker:
        marker.write(text + "\n")
    return text


@api_task([PERM], "Fail on purpose.")
@shared_task
def explode(message: str = "boom") -> None:
    raise RuntimeError(message)


@api_task([PERM], "Report progress, then wait until a file appears.")
@shared_task(bind=True)
def wait_for_file(self, path: str, timeout: float = 20.0) -> str:
    report_progress(self, 50, "waiting for the go file")
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.05)
    report_progress(self, 100, "go file seen")
    return "done"


@api_task([PERM], "Fail once, then succeed on its retry.")
@shared_task(bind=True, max_retries=2)
def flaky(self, path: str) -> int:
    marker = Path(path)
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if attempts == 0:
        raise self.retry(exc=ConnectionError("first attempt fails"), countdown=0.2)
    return attempts + 1


@api_task(["task_api.run_reports", "task_api.send_emails"], "Needs two permissions.")
@shared_task(bind=True, time_limit=30)
def two_permissions(self, a: int, /, b: int = 2, *rest, c: str, d: str = "x", **extra) -> int:
    return a + b
