"""Throttles with the shared cache down (Redis restarting): requests pass uncounted, never 500.

Found by the chaos bench (bench/chaos.py): `POST task-api/execute/` answered 500 while its
Redis restarted, because the execute throttle (then DRF's ScopedRateThrottle) read the cache
unguarded. Its throttle now counts through RateLimitThrottle, which lets a request pass uncounted
when the cache is down; this keeps it so.
"""

import pytest

from accounts.tests.factories import UserFactory
from core.throttling import SharedCacheThrottleMixin
from task_api.models import TaskExecution
from task_api.tests.factories import grant


class DownCache:
    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        return refuse


@pytest.fixture
def cache_down(monkeypatch):
    monkeypatch.setattr(SharedCacheThrottleMixin, "cache", property(lambda self: DownCache()))


def test_execute_is_accepted_uncounted_while_the_throttle_cache_is_down(db, client_for, cache_down, caplog):
    runner = grant(UserFactory(), "task_api.run_benchmarks")

    response = client_for(runner).post(
        "/api/v1/task-api/execute/", {"task_name": "task_api.tasks.add", "args": [1, 2]}, format="json"
    )

    assert response.status_code == 202, response.content
    assert TaskExecution.objects.filter(user=runner).count() == 1
    assert "cache unavailable; request not counted" in caplog.text
