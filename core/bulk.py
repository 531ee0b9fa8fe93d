"""Many new rows of one model in one INSERT whose rows travel as a single JSON parameter.

Django's `bulk_create` prepares every value of every row in Python, and psycopg then quotes
the arrays it sends them in (one per column) element by element. For the rows an expiry sweep
writes (25,000 notifications and as many live events) that took seconds of CPU, several times
what PostgreSQL spends inserting them. Here the values become one JSON array of rows,
encoded in a single `json.dumps` call and unpacked by PostgreSQL (`jsonb_array_elements`),
each column cast to its own type. Row order is kept, so RETURNING hands the ids back in the
order of the objects (as bulk_create relies on too).

PostgreSQL only; `insert` falls back to `bulk_create` elsewhere.
"""

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from uuid import UUID

from django.db import connections
from django.db.models import JSONField, Model


def _plain(value):
    """A column's value as JSON carries it to the cast (full precision, unlike DjangoJSONEncoder)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    return value


def _fields(model: type[Model]) -> list:
    return [field for field in model._meta.concrete_fields if not (field.primary_key or field.generated)]


@cache
def _statement(model: type[Model], alias: str, with_sql: str, joined: str) -> str:
    db = connections[alias]
    quote = db.ops.quote_name
    values = []
    for index, field in enumerate(_fields(model)):
        if isinstance(field, JSONField):
            # JSON null is no value: Django stores None in a JSONField as SQL NULL.
            values.append(f"NULLIF(row_values -> {index}, 'null'::jsonb)")
        else:
            # The type without its length: a cast to varchar(16) would cut a longer value where
            # the INSERT must refuse it, as bulk_create's would.
            values.append(f"(row_values ->> {index})::{field.db_type(db).split('(')[0]}")
    source = f"{joined}, " if joined else ""
    return (
        f"{with_sql} INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in _fields(model))}) "
        f"SELECT {', '.join(values)} FROM {source}jsonb_array_elements(%s::jsonb) AS row_values "
        f"RETURNING {quote(model._meta.pk.column)}"
    ).strip()


def insert(objs: Sequence[Model], *, using: str, with_sql: str = "", with_params=(), joined: str = "") -> list:
    """Save the new `objs` (all of one model, their primary keys left to the database) in one
    INSERT, setting their primary keys and state as bulk_create does; returns them.

    `with_sql`/`with_params`: a WITH clause to put before the INSERT, `joined`: the name of one
    of its parts to join the rows to (so it runs first; live events take their writer lock so).
    """
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    db = connections[using]
    if db.vendor != "postgresql":
        if with_sql:
            raise ValueError("a WITH clause needs PostgreSQL")
        return model._default_manager.using(using).bulk_create(objs)
    fields = _fields(model)
    encoders = {field.encoder for field in fields if isinstance(field, JSONField)}
    if len(encoders) > 1:
        raise ValueError(f"{model.__name__}: JSON fields with different encoders")
    rows = [
        [
            field.pre_save(obj, add=True) if isinstance(field, JSONField) else _plain(field.pre_save(obj, add=True))
            for field in fields
        ]
        for obj in objs
    ]
    # Every value but the JSON fields' is plain by now, so their encoder is the only one at work.
    payload = json.dumps(rows, cls=next(iter(encoders), None), separators=(",", ":"))
    with db.cursor() as cursor:
        cursor.execute(_statement(model, using, with_sql, joined), [*with_params, payload])
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, using
    return objs
