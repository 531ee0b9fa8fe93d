"""Wakes requests long-polling an execution the moment it finishes.

With Redis (`REDIS_URL`) the worker publishes each finished execution's id on one channel.
Every web process holds a single subscription to it, read by one background thread that
wakes the requests waiting for that id: a waiting request costs no Redis connection and
no Redis command. Without Redis, or while the subscription is down, waiters poll the row.
The database row stays the only truth: a message is just a hint to look at it again now.
"""

import logging
import os
import threading
import time
from contextlib import contextmanager

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# How long the first waiter in a process gives the subscription to come up before polling.
SUBSCRIBE_TIMEOUT = 1.0
# Pause before re-subscribing after the Redis connection was lost.
RECONNECT_DELAY = 1.0

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


class FinishWatcher:
    """This process's subscription to finish announcements, shared by all its waiting requests."""

    def __init__(self, url: str, channel: str):
        self.url = url
        self.channel = channel
        self._waiters: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage_logged = False

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def start(self) -> None:
        """Start the reading thread if it is not running, and give it a moment to subscribe."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopped.clear()
            self._thread = threading.Thread(target=self._run, name="task-api-finish-watcher", daemon=True)
            self._thread.start()
        self._subscribed.wait(SUBSCRIBE_TIMEOUT)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)

    @contextmanager
    def watch(self, execution_id):
        """An Event set when `execution_id` is announced; registered before the caller reads the row."""
        key = str(execution_id)
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiting = self._waiters.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiters[key]

    def _wake(self, key: str) -> None:
        with self._lock:
            for event in self._waiters.get(key, ()):
                event.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=5,
                health_check_interval=30,
                # Names this process's subscription in Redis' CLIENT LIST.
                client_name=f"taskhub-finish-watcher-{os.getpid()}",
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    # Subscribed once the subscribe reply has been read (it comes back as None).
                    if not self._subscribed.is_set() and pubsub.subscribed:
                        self._subscribed.set()
                        self._outage_logged = False
                    if message is None:
                        continue
                    data = message["data"]
                    self._wake(data.decode() if isinstance(data, bytes) else str(data))
            except (redis.RedisError, OSError) as exc:
                # Once per outage, not once per reconnect attempt.
                if not self._outage_logged:
                    logger.warning("finish announcements unavailable (%s); long-polls poll the database", exc)
                    self._outage_logged = True
            finally:
                self._subscribed.clear()
                # Anyone who was waiting may have missed a message: have them look now.
                with self._lock:
                    for waiting in self._waiters.values():
                        for event in waiting:
                            event.set()
                pubsub.close()
                client.close()
            self._stopped.wait(RECONNECT_DELAY)


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
