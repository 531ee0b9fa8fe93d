"""One Redis pub/sub subscription per process and channel, shared by every waiter in the process.

A background thread reads the channel and calls back the local listeners of each message's
key (the message is the key, or the key, a newline and a detail a subclass may keep for
its listeners: see `_wake`), so a waiting request, thread or coroutine, costs no Redis
connection and no Redis command. When the subscription drops, every listener is called
(anything may have been missed: look again). Messages are hints only: the database stays
the truth, and waiters re-read it on a timer when the subscription is down or absent.

`publish` sends them. Inside `batched_publishes()` the messages of every caller wait for the
block's end and go out in one pipeline: a worker's finish announces the execution and wakes
live streams with one Redis round trip.
"""

import logging
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager

import redis

logger = logging.getLogger(__name__)

# How long the first listener in a process gives the subscription to come up.
SUBSCRIBE_TIMEOUT = 1.0
# Pause before re-subscribing after the Redis connection was lost.
RECONNECT_DELAY = 1.0

_publisher: tuple[str, redis.Redis] | None = None
_batch = threading.local()


def _publisher_for(url: str) -> redis.Redis:
    """This process's client for publishing (thread-safe: each command takes a pooled connection)."""
    global _publisher
    current = _publisher
    if current is None or current[0] != url:
        current = _publisher = (url, redis.Redis.from_url(url, socket_timeout=5))
    return current[1]


def publish(url: str | None, channel: str, messages: list[str]) -> None:
    """Publish `messages` on `channel` of the Redis at `url` (nothing without one).

    They are hints, so a Redis error is logged, not raised. Inside `batched_publishes()` they
    are sent when the block ends, with everything else published in it.
    """
    if not url or not messages:
        return
    pending = getattr(_batch, "pending", None)
    if pending is not None:
        pending.extend((url, channel, message) for message in messages)
    else:
        _send([(url, channel, message) for message in messages])


@contextmanager
def batched_publishes():
    """Hold this thread's `publish` calls until the block ends (or raises), then send them in
    one pipeline per Redis. Publish after commits inside it, as outside: it only delays."""
    if getattr(_batch, "pending", None) is not None:  # an enclosing block sends them
        yield
        return
    _batch.pending = []
    try:
        yield
    finally:
        pending, _batch.pending = _batch.pending, None
        _send(pending)


def _send(messages: list[tuple[str, str, str]]) -> None:
    for url in dict.fromkeys(url for url, _, _ in messages):
        mine = [(channel, message) for to, channel, message in messages if to == url]
        try:
            client = _publisher_for(url)
            if len(mine) == 1:
                client.publish(*mine[0])
                continue
            pipe = client.pipeline(transaction=False)
            for channel, message in mine:
                pipe.publish(channel, message)
            pipe.execute()
        except redis.RedisError:
            # Waiters re-read the database on a timer as well; a lost hint only slows them.
            # Channels and a count, not the messages: a finish announcement carries a task's result.
            channels = sorted({channel for channel, _ in mine})
            logger.warning("could not publish %d message(s) on %s", len(mine), channels, exc_info=True)


class ChannelWatcher:
    """This process's subscription to `channel`; `listen(key, callback)` registers a waiter."""

    def __init__(self, url: str, channel: str, name: str):
        self.url = url
        self.channel = channel
        self.name = name
        self._waiters: dict[str, set[Callable[[], None]]] = {}
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
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        self._subscribed.wait(SUBSCRIBE_TIMEOUT)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)

    @contextmanager
    def listen(self, keys, callback: Callable[[], None]):
        """Call `callback` (from the reading thread) whenever one of `keys` is published."""
        keys = [str(key) for key in keys]
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(callback)
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    listening = self._waiters.get(key)
                    if listening is not None:
                        listening.discard(callback)
                        if not listening:
                            del self._waiters[key]

    def _call(self, callbacks) -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a listener's bug must not stop the subscription of the others
                logger.exception("pub/sub listener failed")

    def _wake(self, key: str, detail: str = "") -> None:
        """Call the listeners of `key`; `detail`, the text after the message's first newline, is for subclasses."""
        with self._lock:
            callbacks = list(self._waiters.get(key, ()))
        self._call(callbacks)

    def _wake_all(self) -> None:
        with self._lock:
            callbacks = {callback for listening in self._waiters.values() for callback in listening}
        self._call(callbacks)

    def _run(self) -> None:
        while not self._stopped.is_set():
            client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=5,
                health_check_interval=30,
                # Names this process's subscription in Redis' CLIENT LIST.
                client_name=f"{self.name}-{os.getpid()}",
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
                    key, _, detail = (data.decode() if isinstance(data, bytes) else str(data)).partition("\n")
                    self._wake(key, detail)
            except (redis.RedisError, OSError) as exc:
                # Once per outage, not once per reconnect attempt.
                if not self._outage_logged:
                    logger.warning("%s unavailable (%s); waiters poll the database", self.channel, exc)
                    self._outage_logged = True
            finally:
                self._subscribed.clear()
                # Anyone who was waiting may have missed a message: have them look now.
                self._wake_all()
                pubsub.close()
                client.close()
            self._stopped.wait(RECONNECT_DELAY)


class ProcessWatchers:
    """The process's ChannelWatcher of one channel: started on first use, again after a fork."""

    def __init__(self, channel: Callable[[], str], name: str):
        self._channel = channel
        self._name = name
        self._watcher: ChannelWatcher | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def get(self, url: str) -> ChannelWatcher | None:
        if not url:
            return None
        with self._lock:
            current = self._watcher
            if current is None or self._pid != os.getpid() or current.url != url:
                if current is not None and self._pid == os.getpid():
                    current.stop()  # the Redis URL changed (tests do that)
                current = self._watcher = ChannelWatcher(url, self._channel(), self._name)
                self._pid = os.getpid()
        current.start()
        return current

    def reset(self) -> None:
        with self._lock:
            if self._watcher is not None and self._pid == os.getpid():
                self._watcher.stop()
            self._watcher = None
