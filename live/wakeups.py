"""Waking open streams when events commit: one Redis channel, one subscription per process.

A write publishes, after its commit, `u:<user id>` for each user it addressed and `t` for task
events (whose readers are decided by visibility when they read). Streams listen to their
user's key and to `t` through the process's one `core.pubsub.ChannelWatcher`. Without Redis,
or while the subscription is down, streams poll the log every LIVE_POLL_SECONDS.
"""

import logging

import redis
from django.conf import settings

from core.pubsub import ProcessWatchers

logger = logging.getLogger(__name__)

TASK_KEY = "t"

_client: tuple[str, redis.Redis] | None = None


def _channel() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:live:events"


def _redis() -> redis.Redis | None:
    global _client
    if not settings.REDIS_URL:
        return None
    if _client is None or _client[0] != settings.REDIS_URL:
        _client = (settings.REDIS_URL, redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5))
    return _client[1]


def announce(*, keys) -> None:
    client = _redis()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.publish(_channel(), key)
        pipe.execute()
    except redis.RedisError:
        # Streams re-read the log on a timer as well; a lost hint only delays them.
        logger.warning("could not announce live events %s", keys, exc_info=True)


def user_keys(user_id) -> tuple[str, str]:
    """What a stream of `user_id` listens to: its own events and every task event."""
    return (f"u:{user_id}", TASK_KEY)


watchers = ProcessWatchers(_channel, "taskhub-live-watcher")


def watcher():
    """This process's subscription, or None without Redis."""
    return watchers.get(settings.REDIS_URL)
