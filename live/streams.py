"""The Server-Sent Events stream of one user: what it sends, and how it waits between reads.

`EventStream` holds the cursor and builds the text; `sync_stream` runs it in a thread
(gunicorn, one thread per stream) and `async_stream` in an event loop (uvicorn, no thread
held while waiting). Both end after LIVE_STREAM_SECONDS; the client reconnects with
Last-Event-ID (EventSource does by itself, after the `retry:` delay) and misses nothing.
"""

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import nullcontext, suppress

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

from accounts.models import User

from . import wakeups
from .selectors import event_horizon, events_after, events_purged_through

# The horizon is re-read at most this often for all the streams of a process.
HORIZON_MAX_AGE = 0.05
# While a committed event waits behind an open writer, streams look again this often.
HELD_BACK_RECHECK = 0.2
RESET = "reset"
# A replay reads the log in windows of this many ids (each read one bounded index range).
SCAN_WINDOW = 10_000


def _message(*, id: int | None = None, event: str | None = None, data=None) -> str:
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines.append(f"data: {json.dumps(data, cls=DjangoJSONEncoder, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


class EventStream:
    """One user's stream: the cursor (every event up to it was sent or is not theirs) and the
    text of each read. Its methods touch the database and are synchronous."""

    def __init__(self, *, user: User, last_event_id: int | None, seconds: float):
        self.user = user
        self.last_event_id = last_event_id
        self.deadline = time.monotonic() + seconds
        self.cursor = 0
        self.sent_cursor: int | None = None
        self.last_sent = time.monotonic()

    def open(self) -> str:
        """The first chunk: the reconnection delay, the cursor, and a `reset` when events
        after the client's Last-Event-ID may be gone (purged, or a log it never came from)."""
        horizon = event_horizon()
        final = horizon.check(max_age=HORIZON_MAX_AGE)
        # A process that has not yet seen a moment without open writers starts at the top.
        now = final if horizon.finalised else horizon.top
        chunk = f"retry: {settings.LIVE_RETRY_MS}\n"
        if self.last_event_id is None:
            self.cursor = now
            return chunk + self._cursor_message()
        purged = events_purged_through()
        if self.last_event_id < purged or self.last_event_id > max(horizon.top, purged):
            self.cursor = now
            return chunk + self._event(
                id=self.cursor, event=RESET,
                data={"last_event_id": self.last_event_id, "detail": "Events after your Last-Event-ID may "
                      "have been deleted: reload what you show, then follow this stream."},
            )
        self.cursor = self.last_event_id
        return chunk + self._cursor_message()

    def read(self) -> tuple[str, bool]:
        """(text of the events now readable, whether to read again soon rather than wait)."""
        horizon = event_horizon()
        final = horizon.check(max_age=HORIZON_MAX_AGE)
        if final <= self.cursor:
            return "", horizon.held_back
        # One read scans at most SCAN_WINDOW ids of the log, however far behind the cursor is.
        upto = min(final, self.cursor + SCAN_WINDOW)
        batch = events_after(user=self.user, after=self.cursor, upto=upto, limit=settings.LIVE_BATCH_SIZE)
        full = len(batch) == settings.LIVE_BATCH_SIZE
        text = "".join(self._event(id=e.id, event=e.kind, data=e.data) for e in batch)
        # Nothing else of theirs up to `upto`: the cursor moves there (sent at the next beat).
        self.cursor = batch[-1].id if full else upto
        return text, full or upto < final or horizon.held_back

    def beat(self) -> str:
        """A heartbeat once LIVE_HEARTBEAT_SECONDS passed without a message, else "": the
        cursor if it moved (an id-only message sets Last-Event-ID and fires no event), or a comment."""
        if time.monotonic() - self.last_sent < settings.LIVE_HEARTBEAT_SECONDS:
            return ""
        if self.sent_cursor != self.cursor:
            return self._cursor_message()
        self.last_sent = time.monotonic()
        return ": keep-alive\n\n"

    def wait_seconds(self, *, again: bool, subscribed: bool) -> float:
        """How long to wait before the next read: soon when something is held back, at the
        next poll without a subscription, at the next heartbeat with one; never past the end."""
        wait = min(self.last_sent + settings.LIVE_HEARTBEAT_SECONDS - time.monotonic(), self.remaining())
        if again:
            wait = min(wait, HELD_BACK_RECHECK)
        if not subscribed:
            wait = min(wait, settings.LIVE_POLL_SECONDS)
        return max(wait, 0.0)

    def close(self) -> str:
        return self._cursor_message() if self.sent_cursor != self.cursor else ""

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _event(self, *, id: int, event: str, data) -> str:
        self.sent_cursor, self.last_sent = id, time.monotonic()
        return _message(id=id, event=event, data=data)

    def _cursor_message(self) -> str:
        self.sent_cursor, self.last_sent = self.cursor, time.monotonic()
        return _message(id=self.cursor)


def sync_stream(stream: EventStream, *, release: Callable[[], None]) -> Iterator[str]:
    """The stream in a thread: woken by the process's subscription, or polling without it."""
    try:
        yield stream.open()
        watcher = wakeups.watcher()
        woken = threading.Event()
        keys = wakeups.user_keys(stream.user.pk) if watcher else ()
        listening = watcher.listen(keys, woken.set) if watcher else nullcontext()
        with listening:
            while True:  # at least one read, however short the stream
                woken.clear()
                text, again = stream.read()
                if text:
                    yield text
                if stream.remaining() <= 0:
                    break
                woken.wait(stream.wait_seconds(again=again, subscribed=bool(watcher and watcher.subscribed)))
                if beat := stream.beat():
                    yield beat
        if closing := stream.close():
            yield closing
    finally:
        release()


def _in_pool_thread(method):
    """`method` run on a pool thread, whose connection is checked first as a request's is
    (the request signals that do it for a view do not cover a pool thread)."""

    def call():
        close_old_connections()
        return method()

    return sync_to_async(call, thread_sensitive=False)


async def async_stream(stream: EventStream, *, release: Callable[[], None]) -> AsyncIterator[str]:
    """The stream in the event loop: each read borrows a thread for its queries, waiting holds none."""
    read = _in_pool_thread(stream.read)
    try:
        yield await _in_pool_thread(stream.open)()
        watcher = await sync_to_async(wakeups.watcher, thread_sensitive=False)()
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        keys = wakeups.user_keys(stream.user.pk) if watcher else ()
        listening = watcher.listen(keys, lambda: loop.call_soon_threadsafe(woken.set)) if watcher else nullcontext()
        with listening:
            while True:  # at least one read, however short the stream
                woken.clear()
                text, again = await read()
                if text:
                    yield text
                if stream.remaining() <= 0:
                    break
                with suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), stream.wait_seconds(
                        again=again, subscribed=bool(watcher and watcher.subscribed)))
                if beat := stream.beat():
                    yield beat
        if closing := stream.close():
            yield closing
    finally:
        await sync_to_async(release, thread_sensitive=False)()
