import pytest

from core.tasks import ping

pytestmark = pytest.mark.services


def test_real_worker_on_redis_runs_a_task(celery_worker):
    result = ping.delay()

    assert result.get(timeout=30) == "pong"
    assert "core.tasks.ping" in celery_worker.log()
