"""Wakes requests long-polling an execution the moment it finishes.

With Redis (`REDIS_URL`) the worker publishes on a per-execution channel and the waiting
request sleeps on it; without Redis, waiters fall back to polling the row. The database
row stays the only truth: a message is just a hint to look at it again now.
"""

import logging
from contextlib import contextmanager

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_client: redis.Redis | None = None


def _redis() -> redis.Redis | None:
    global _client
    if _client is None and settings.REDIS_URL:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _client


def _channel(execution_id) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:task_api:finished:{execution_id}"


def announce_finished(execution_id) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.publish(_channel(execution_id), "1")
    except redis.RedisError:
        # Waiters re-check the row at least once a second; a lost hint only slows them.
        logger.warning("could not announce execution %s", execution_id, exc_info=True)


class _Listener:
    def __init__(self, pubsub):
        self.pubsub = pubsub

    def wait(self, timeout: float) -> None:
        """Return when a finish message arrives or `timeout` seconds pass."""
        self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)


@contextmanager
def finish_listener(execution_id):
    """A listener subscribed before the caller checks the row (so no message is missed), or None."""
    client = _redis()
    if client is None:
        yield None
        return
    pubsub = client.pubsub()
    try:
        pubsub.subscribe(_channel(execution_id))
    except redis.RedisError:
        logger.warning("could not subscribe for execution %s; polling", execution_id, exc_info=True)
        pubsub.close()
        yield None
        return
    try:
        yield _Listener(pubsub)
    finally:
        pubsub.close()
