"""Wakes requests long-polling an execution the moment it finishes.

With Redis (`REDIS_URL`) the worker publishes each finished execution's id on one channel,
after the finish committed, with the finished row's `TaskExecution.FINISH_FIELDS` as the
UPDATE answered them (what a finish changes of what the API shows; left out past
ANNOUNCED_DETAIL_MAX_BYTES). Every web process holds a single subscription to it, read by one
background thread that wakes the requests waiting for that id: a waiting request costs no
Redis connection and no Redis command, and with the detail it answers without reading the
row again. A bare id is a hint to read the row now. Without Redis, or while the subscription
is down, waiters poll the row.

It also declares `execution_finished`, the in-process signal apps above listen to (webhooks, live).
"""

import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.dispatch import Signal

from core import pubsub
from core.pubsub import ChannelWatcher

from .models import TaskExecution

logger = logging.getLogger(__name__)

# execution_id, status, user_id, task_name, completed_at: an execution has just reached a finished
# state (SUCCESS, FAILURE or REVOKED); the other arguments are its row's values as that UPDATE
# wrote them, so a receiver that shows no more than these needs no query. Sent with
# `sender=TaskExecution` exactly once per execution, by the service whose UPDATE changed the
# row, inside the transaction of that UPDATE (so a receiver's writes, such as webhook
# deliveries, commit with it; wait for the commit with `transaction.on_commit` before telling
# anyone outside). A bulk finish (lost runs) sends one signal per execution.
execution_finished = Signal()


def _channel() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:task_api:finished"


# Past this (a large result or traceback) the announcement is the id alone and waiters read the row.
ANNOUNCED_DETAIL_MAX_BYTES = 16 * 1024


def _encode_shown(shown: dict) -> str | None:
    def iso(value):
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    try:
        detail = json.dumps(shown, default=iso, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return detail if len(detail) <= ANNOUNCED_DETAIL_MAX_BYTES else None


def decode_shown(detail: str) -> dict | None:
    """The FINISH_FIELDS an announcement carried, typed as the model holds them; None if there are none."""
    if not detail:
        return None
    try:
        shown = json.loads(detail)
        field = TaskExecution._meta.get_field
        return {name: field(name).to_python(shown[name]) for name in TaskExecution.FINISH_FIELDS}
    except (ValueError, KeyError, TypeError, ValidationError):
        logger.warning("ignoring a malformed finish announcement", exc_info=True)
        return None


def announce_finished(execution_id, shown: dict | None = None) -> None:
    """Publish that `execution_id` finished (call after the commit); `shown`: its FINISH_FIELDS as written."""
    detail = _encode_shown(shown) if shown is not None and settings.REDIS_URL else None
    pubsub.publish(settings.REDIS_URL, _channel(), [f"{execution_id}\n{detail}" if detail else str(execution_id)])


class FinishWatcher(ChannelWatcher):
    """This process's subscription to finish announcements, shared by all its waiting requests."""

    def __init__(self, url: str, channel: str):
        super().__init__(url, channel, "taskhub-finish-watcher")
        # The detail announced for each watched execution, until its watchers are gone.
        self._details: dict[str, str] = {}

    def _wake(self, key: str, detail: str = "") -> None:
        if detail:
            with self._lock:
                if key in self._waiters:
                    self._details[key] = detail
        super()._wake(key)

    def detail(self, execution_id) -> str:
        with self._lock:
            return self._details.get(str(execution_id), "")

    @contextmanager
    def watch(self, execution_id):
        """An Event set when `execution_id` is announced; registered before the caller reads the row."""
        event = threading.Event()
        key = str(execution_id)
        try:
            with self.listen([key], event.set):
                yield event
        finally:
            with self._lock:
                if key not in self._waiters:
                    self._details.pop(key, None)


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
    def __init__(self, execution_id, event: threading.Event, watcher: FinishWatcher, poll_interval: float):
        self.execution_id = execution_id
        self.event = event
        self.watcher = watcher
        self.poll_interval = poll_interval

    def finished(self) -> dict | None:
        """The FINISH_FIELDS the finish announcement carried, once it came with them."""
        return decode_shown(self.watcher.detail(self.execution_id))

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
        yield _Listener(execution_id, event, current, poll_interval)
