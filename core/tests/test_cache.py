"""The Redis cache backend reuses one redis-py client per connection pool."""

import os
import threading

import pytest
from django.core.cache import caches

pytestmark = pytest.mark.services


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": "cache-test"}
    }
    cache = caches["default"]
    yield cache
    cache.delete_many(["a", "b", "c"])


def test_every_call_uses_the_same_client_and_values_round_trip(redis_cache):
    first = redis_cache._cache.get_client()

    redis_cache.set("a", {"x": 1})
    redis_cache.set_many({"b": 2, "c": [3]})

    assert redis_cache.get("a") == {"x": 1}
    assert redis_cache.get_many(["b", "c"]) == {"b": 2, "c": [3]}
    assert redis_cache.add("a", 0) is False
    assert redis_cache._cache.get_client(write=True) is first


def test_threads_sharing_a_client_see_their_own_values(redis_cache):
    client = redis_cache._cache
    errors = []

    def work(n):
        try:
            for i in range(50):
                client.set(f"t{n}", (n, i), timeout=30)
                assert client.get(f"t{n}", None) == (n, i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    client.delete_many([f"t{n}" for n in range(8)])
