"""bench/task_api_throughput.py on a tiny size: its three paths run and it prints every ratio (not a measurement)."""

import os
import subprocess
import sys

import pytest

from conftest import BASE_DIR, database_url_for_subprocess

pytestmark = pytest.mark.services


@pytest.mark.django_db(transaction=True)
def test_the_task_api_benchmark_runs_polling_and_submit_and_wait_against_raw():
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
    args = ["-n", "6", "--clients", "2", "--rounds", "1", "--web-workers", "1", "--worker-concurrency", "2"]

    done = subprocess.run(
        [sys.executable, "bench/task_api_throughput.py", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=240,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for line in ("raw delay()+get()", "API polling", "API submit-and-wait"):
        assert line in done.stdout
    assert "API submit-and-wait/raw: throughput" in done.stdout
    assert "CPU per execution" in done.stdout
