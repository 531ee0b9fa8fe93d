"""Celery task results, stored in django-celery-results' table with one upsert per state change."""

from contextvars import ContextVar
from functools import cache
from typing import NamedTuple

from django.db import connections, router
from django.db.models.constants import OnConflict
from django_celery_results.managers import TaskResultManager
from django_celery_results.models import TaskResult

# The columns written besides task_id and the two dates, in the order of the statement's values.
_STORED = (
    "status", "result", "traceback", "meta", "content_encoding", "content_type",
    "periodic_task_name", "task_name", "task_args", "task_kwargs", "worker",
)


@cache
def _upsert_statement(alias: str) -> str:
    """The one-row upsert of `UpsertTaskResultManager.upsert`, built once per database."""
    db = connections[alias]
    quote = db.ops.quote_name
    fields = _row_fields()
    conflict = db.ops.on_conflict_suffix_sql(
        fields,
        OnConflict.UPDATE,
        [TaskResult._meta.get_field(name).column for name in (*_STORED, "date_done")],
        [TaskResult._meta.get_field("task_id").column],
    )
    return (
        f"INSERT INTO {quote(TaskResult._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) {conflict}"
    )


def _row_fields() -> list:
    meta = TaskResult._meta
    return [field for field in meta.concrete_fields if field is not meta.pk]


class UpsertTaskResultManager(TaskResultManager):
    """`store_result` as one `INSERT ... ON CONFLICT (task_id) DO UPDATE`.

    django-celery-results stores a state with `get_or_create` (a SELECT, then an INSERT in a
    transaction of its own, or a second write for a known task), several times per task. The
    upsert writes the same columns in one statement and needs no retry on a race between two
    workers. Same arguments as the original. The statement is sent on its own (autocommit):
    `bulk_create` would wrap it in a transaction, two more round trips (BEGIN, COMMIT) for
    every result a worker stores. It is built once per process (`_upsert_statement`): compiling
    it through the ORM for every result cost more Python time than sending it.

    While a list is held for the current context (`holding`), the statement is appended to it
    instead of sent: its holder sends it with a write of its own (`core.results`).
    """

    def store_result(
        self,
        content_type,
        content_encoding,
        task_id,
        result,
        status,
        traceback=None,
        meta=None,
        periodic_task_name=None,
        task_name=None,
        task_args=None,
        task_kwargs=None,
        worker=None,
        using=None,
        **kwargs,
    ):
        if kwargs:  # date_started (a STARTED state) is an expression: leave it to the original
            return super().store_result(
                content_type, content_encoding, task_id, result, status, traceback, meta,
                periodic_task_name, task_name, task_args, task_kwargs, worker, using, **kwargs,
            )
        stored = self.model(
            task_id=task_id, status=status, result=result, traceback=traceback, meta=meta,
            content_encoding=content_encoding, content_type=content_type,
            periodic_task_name=periodic_task_name, task_name=task_name, task_args=task_args,
            task_kwargs=task_kwargs, worker=worker,
        )
        statement = self.upsert(stored, using=using or router.db_for_write(self.model))
        held = holding.get()
        if held is not None:
            held.append(statement)
        else:
            statement.send()
        return stored

    def upsert(self, stored: TaskResult, *, using: str) -> "Statement":
        """The upsert of `stored` (date_created and date_done filled in as a save does)."""
        db = connections[using]
        params = [field.get_db_prep_save(field.pre_save(stored, add=True), db) for field in _row_fields()]
        return Statement(using, _upsert_statement(using), params)


class Statement(NamedTuple):
    """One SQL statement for the database `alias`, ready to send."""

    alias: str
    sql: str
    params: list

    def send(self) -> None:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, self.params)


# The list a held upsert goes to instead of the database (see UpsertTaskResultManager).
holding: ContextVar[list[Statement] | None] = ContextVar("held_task_results", default=None)


class StoredTaskResult(TaskResult):
    """django-celery-results' TaskResult (same table), written through the upsert manager."""

    objects = UpsertTaskResultManager()

    class Meta:
        proxy = True
        app_label = "core"
