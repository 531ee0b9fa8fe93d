"""Writes to the live event log: one INSERT per batch of changes, and the purge.

Events are written inside the transaction of the change they describe, so they commit or
roll back with it; open streams are woken after the commit (`live.wakeups`).

Ids come from a sequence when each transaction inserts, so they need not commit in id
order: a transaction holding id 9 may commit after one holding id 10. On PostgreSQL every
writer therefore holds a shared advisory lock (WRITER_LOCK) from before its insert until it
ends, and readers serve only ids below the horizon no open writer can still fill
(`live.selectors.EventHorizon`). SQLite runs one writer at a time, so there commit order is
id order.
"""

from collections.abc import Iterable
from datetime import timedelta
from functools import cache, partial

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Max
from django.utils import timezone

from core import bulk

from .models import Event, PurgeMark
from .wakeups import announce

# pg_advisory_xact_lock_shared(WRITER_LOCK, 0): "this transaction may hold uncommitted event ids".
WRITER_LOCK = 0x4C495645  # "LIVE"
_EVENT_FIELDS = [field for field in Event._meta.concrete_fields if not field.primary_key]


_WITH_WRITER_LOCK = "WITH writer_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(%s, 0))"


@cache
def _one_row_statement(alias: str) -> str:
    """The writer lock and the INSERT of one event, its values as scalars (built once)."""
    db = connections[alias]
    quote = db.ops.quote_name
    values = ", ".join(f"%s::{field.db_type(db).split('(')[0]}" for field in _EVENT_FIELDS)
    return (
        f"{_WITH_WRITER_LOCK} INSERT INTO {quote(Event._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in _EVENT_FIELDS)}) "
        f"SELECT {values} FROM writer_lock RETURNING {quote(Event._meta.pk.column)}"
    )


def _insert_holding_writer_lock(events: list[Event]) -> None:
    """PostgreSQL: the writer lock and the INSERT of `events` as one statement, one round trip.

    The lock is taken in a materialized CTE that the rows are joined to, so it is held before
    the INSERT draws the first id from the sequence, as the readers' horizon requires. Many
    events go as one JSON parameter (core.bulk); one (a worker's finish) as scalars, which
    costs less for a single row.
    """
    if len(events) > 1:
        bulk.insert(
            events, using=connection.alias, with_sql=_WITH_WRITER_LOCK, with_params=[WRITER_LOCK], joined="writer_lock"
        )
        return
    (event,) = events
    values = (field.get_db_prep_save(field.pre_save(event, add=True), connection) for field in _EVENT_FIELDS)
    params = [WRITER_LOCK, *values]
    with connection.cursor() as cursor:
        cursor.execute(_one_row_statement(connection.alias), params)
        event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, connection.alias


# No savepoint inside the caller's transaction: the events are part of its write.
@transaction.atomic(savepoint=False)
def events_record(*, events: Iterable[Event]) -> list[Event]:
    """Store `events` in one INSERT (with the writer lock) and wake their readers after commit."""
    events = list(events)
    if not events:
        return []
    if connection.vendor == "postgresql":
        _insert_holding_writer_lock(events)
    else:
        events = Event.objects.bulk_create(events)
    keys = {f"u:{event.user_id}" if event.user_id else "t" for event in events}
    # robust: the write has committed; a lost wake-up only delays readers to their next poll.
    transaction.on_commit(partial(announce, keys=sorted(keys)), robust=True)
    return events


def events_retention() -> timedelta:
    """LIVE_EVENTS_RETENTION, never under the hour SPEC §10 promises."""
    return max(timedelta(seconds=settings.LIVE_EVENTS_RETENTION), timedelta(hours=1))


@transaction.atomic
def events_purge(*, now=None) -> int:
    """Delete events older than the retention; remember the highest id deleted."""
    cutoff = (now or timezone.now()) - events_retention()
    old = Event.objects.filter(created_at__lt=cutoff)
    through = old.aggregate(through=Max("id"))["through"]
    if through is None:
        return 0
    deleted, _ = old.filter(id__lte=through).delete()
    mark, _ = PurgeMark.objects.select_for_update().get_or_create(pk=1)
    if through > mark.purged_through:
        mark.purged_through = through
    mark.purged_at = timezone.now()
    mark.save()
    return deleted
