"""Wakes requests long-polling an execution the moment it finishes.

With Redis (`REDIS_URL`) the worker publishes each finished execution's id on one channel.
Every web process holds a single subscription to it, read by one background thread that
wakes the requests waiting for that id: a waiting request costs no Redis connection and
no Redis command. Without Redis, or while the subscription is down, waiters poll the row.
The database row stays the only truth: a message is just a hint to look at it again now.

It also declares `execution_finished`, the in-process signal apps above listen to (webhooks, live).
"""

import logging
import os
import threading
import time
from contextlib import contextmanager

import redis
from django.conf import settings
from django.dispatch import Signal

from core.pubsub import ChannelWatcher

logger = logging.getLogger(__name__)

# execution_id, status, user_id, task_name, completed_at: an execution has just reached a finished
# state (SUCCESS, FAILURE or REVOKED); the other arguments are its row's values as that UPDATE
# wrote them, so a receiver that shows no more than these needs no query. Sent with
# `sender=TaskExecution` exactly once per execution, by the service whose UPDATE changed the
# row, inside the transaction of that UPDATE (so a receiver's writes, such as webhook
# deliveries, commit with it; wait for the commit with `transaction.on_commit` before telling
# anyone outside). A bulk finish (lost runs) sends one signal per execution.
execution_finished = Signal()


_client: redis.Redis | None = None


def _redis() -> redis.Redis | None:
    global _client
    if _client is None and settings.REDIS_URL:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _client


def _channel() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:task_api:finished"


def announce_finished(execution_id) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.publish(_channel(), str(execution_id))
    except redis.RedisError:
        # Waiters re-check the row at least once a second; a lost hint only slows them.
        logger.warning("could not announce execution %s", execution_id, exc_info=True)


class FinishWatcher(ChannelWatcher):
    """This process's subscription to finish announcements, shared by all its waiting requests."""

    def __init__(self, url: str, channel: str):
        super().__init__(url, channel, "taskhub-finish-watcher")

    @contextmanager
    def watch(self, execution_id):
        """An Event set when `execution_id` is announced; registered before the caller reads the row."""
        event = threading.Event()
        with self.listen([execution_id], event.set):
            yield event


_watcher: FinishWatcher | None = None
_watcher_pid: int | None = None
_watcher_lock = threading.Lock()


def watcher() -> FinishWatcher | None:
    """This process's FinishWatcher (started on first use, again after a fork), or None without Redis."""
    global _watcher, _watcher_pid
    if not settings.REDIS_URL:
        return None
    with _watcher_lock:
        if _watcher is None or _watcher_pid != os.getpid() or _watcher.url != settings.REDIS_URL:
            if _watcher is not None and _watcher_pid == os.getpid():
                _watcher.stop()  # REDIS_URL changed (tests do that)
            _watcher = FinishWatcher(settings.REDIS_URL, _channel())
            _watcher_pid = os.getpid()
        current = _watcher
    current.start()
    return current


class _Listener:
    def __init__(self, event: threading.Event, watcher: FinishWatcher, poll_interval: float):
        self.event = event
        self.watcher = watcher
        self.poll_interval = poll_interval

    def wait(self, timeout: float) -> None:
        """Return when this execution is announced (or `timeout` seconds pass)."""
        if not self.watcher.subscribed:
            # No subscription right now: nothing will wake us, so poll.
            time.sleep(min(timeout, self.poll_interval))
            return
        self.event.wait(timeout)
        self.event.clear()


@contextmanager
def finish_listener(execution_id, poll_interval: float = 0.02):
    """A listener registered before the caller checks the row (so no announcement is missed), or None."""
    current = watcher()
    if current is None:
        yield None
        return
    with current.watch(execution_id) as event:
        yield _Listener(event, current, poll_interval)
