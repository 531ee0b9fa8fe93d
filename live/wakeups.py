"""Waking open streams when events commit: one Redis channel, one subscription per process.

A write publishes, after its commit, `u:<user id>` for each user it addressed and `t` for task
events (whose readers are decided by visibility when they read). Streams listen to their
user's key and to `t` through the process's one `core.pubsub.ChannelWatcher`. Without Redis,
or while the subscription is down, streams poll the log every LIVE_POLL_SECONDS.
"""

from django.conf import settings

from core import pubsub
from core.pubsub import ProcessWatchers

TASK_KEY = "t"


def _channel() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:live:events"


def announce(*, keys) -> None:
    # Streams re-read the log on a timer as well; a lost hint only delays them.
    pubsub.publish(settings.REDIS_URL, _channel(), list(keys))


def user_keys(user_id) -> tuple[str, str]:
    """What a stream of `user_id` listens to: its own events and every task event."""
    return (f"u:{user_id}", TASK_KEY)


watchers = ProcessWatchers(_channel, "taskhub-live-watcher")


def watcher():
    """This process's subscription, or None without Redis."""
    return watchers.get(settings.REDIS_URL)
