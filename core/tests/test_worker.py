import os

import pytest

from config.celery import app as celery_app
from core.tasks import ping

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
