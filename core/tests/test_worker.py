import os

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from config.celery import app as celery_app
from core.tasks import ping_task as ping
from core.tests.sample_tasks import database_backend_pid, slow_query

pytestmark = pytest.mark.services


def test_real_worker_on_redis_runs_a_task(celery_worker):
    result = ping.delay()

    assert result.get(timeout=30) == "pong"
    assert "core.tasks.ping" in celery_worker.log()


@pytest.mark.skipif(not os.environ.get("RABBITMQ_URL"), reason="needs RABBITMQ_URL (CI sets it)")
def test_real_worker_on_rabbitmq_runs_a_task(celery_process):
    url = os.environ["RABBITMQ_URL"]
    worker = celery_process("worker", env={"CELERY_BROKER_URL": url})

    with celery_app.connection_for_write(url) as connection:
        result = ping.apply_async(connection=connection)

    assert result.get(timeout=30) == "pong"
    assert "amqp://" in worker.log()


ONE_PROCESS_WORKER = ["-c", "1", "--include", "core.tests.sample_tasks"]


def test_a_worker_keeps_its_database_connection_between_tasks(celery_process):
    celery_process("worker", extra_args=ONE_PROCESS_WORKER)

    backends = {database_backend_pid.delay().get(timeout=30) for _ in range(3)}

    assert len(backends) == 1, "a new PostgreSQL connection per task"


def test_a_task_cut_off_mid_query_leaves_no_broken_connection_behind(celery_process):
    celery_process("worker", extra_args=ONE_PROCESS_WORKER)
    database_backend_pid.delay().get(timeout=30)

    cut_off = slow_query.delay(3)
    with pytest.raises(SoftTimeLimitExceeded):
        cut_off.get(timeout=30)
    after = [database_backend_pid.delay() for _ in range(2)]

    assert cut_off.state == "FAILURE"
    assert all(isinstance(result.get(timeout=30), int) for result in after)
