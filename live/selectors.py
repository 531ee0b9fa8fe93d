"""Reads of the live event log: what a user's stream serves next, and how far it may read.

`events_after` is the one statement of "the events after id N for this user", used by the
threaded (gunicorn) and the asynchronous (uvicorn) stream alike.
"""

import threading
import time
from collections import deque
from typing import NamedTuple

from django.db import connection
from django.db.models import Max

from accounts.models import User
from tasks.selectors import on_visible_tasks

from .models import Event, PurgeMark
from .services import WRITER_LOCK

# At most this many finalisation points are kept while a writer stays open; older ones merge.
MAX_PENDING = 64


class StoredEvent(NamedTuple):
    id: int
    kind: str
    data: dict


def events_after(*, user: User, after: int, upto: int, limit: int) -> list[StoredEvent]:
    """The user's events with `after` < id <= `upto`, oldest first, at most `limit`.

    Their own (notifications, executions) through the (user, id) index, UNION ALL the task
    events of that id range whose task is live and visible to them now (`on_visible_tasks`),
    each half reading only the id range of its partial index.
    """
    columns = ("id", "kind", "data")
    own = Event.objects.filter(user=user, id__gt=after, id__lte=upto).values_list(*columns)
    tasks = on_visible_tasks(
        Event.objects.filter(task__isnull=False, id__gt=after, id__lte=upto), user=user
    ).values_list(*columns)
    return [StoredEvent(*row) for row in own.union(tasks, all=True).order_by("id")[:limit]]


def events_purged_through() -> int:
    """The highest id the purge has deleted (0: none yet)."""
    return PurgeMark.objects.filter(pk=1).values_list("purged_through", flat=True).first() or 0


class EventHorizon:
    """How far this process's streams may read: every event id up to `final` is committed or
    will never be (its transaction rolled back).

    On PostgreSQL each writer holds a shared advisory lock (live.services.WRITER_LOCK) from
    before it takes ids until it ends. A check reads the highest visible id, then the open
    writers (their virtual transaction ids, in pg_locks); that id becomes final once none of
    those writers is still open, seen at a later check. A writer's id below a visible one
    therefore holds the horizon back until it commits or rolls back, and never goes unread.
    On SQLite writers run one at a time: the highest visible id is final at once.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.final = 0
        self.top = 0
        self.finalised = False
        self._pending: deque[tuple[int, frozenset[str]]] = deque()
        self._checked_at = float("-inf")

    @property
    def held_back(self) -> bool:
        """Committed events exist above `final` (a writer below them is still open)."""
        return self.top > self.final

    def check(self, *, max_age: float = 0.0) -> int:
        """`final` after a check of the database, unless one ran in the last `max_age` seconds."""
        with self._lock:
            if time.monotonic() - self._checked_at >= max_age:
                self._advance()
                self._checked_at = time.monotonic()
            return self.final

    def _advance(self) -> None:
        top = Event.objects.aggregate(top=Max("id"))["top"] or 0
        self.top = max(self.top, top)
        if connection.vendor != "postgresql":
            self.final, self.finalised = self.top, True
            return
        with connection.cursor() as cursor:
            # Read after the top id: a writer holding an id up to it is either finished by
            # now or listed here. Advisory locks are per database (other databases of the
            # server are not ours); our own connection's lock (tests writing and reading in
            # one transaction) is ours to see through.
            cursor.execute(
                "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
                " AND objid = 0 AND objsubid = 2 AND granted AND pid <> pg_backend_pid()"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [WRITER_LOCK],
            )
            open_writers = frozenset(row[0] for row in cursor.fetchall())
        self._pending.append((top, open_writers))
        if len(self._pending) > MAX_PENDING:
            del self._pending[1]  # coarser, never wrong: it finalises with a later point
        while self._pending and not (self._pending[0][1] & open_writers):
            self.final = max(self.final, self._pending.popleft()[0])
            self.finalised = True


_horizon = EventHorizon()


def event_horizon() -> EventHorizon:
    return _horizon
