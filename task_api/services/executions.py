"""Requesting, dispatching and cancelling executions: the web and beat side of the lifecycle."""

import hashlib
import json
import logging
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, signals
from django.utils import timezone

from core.exceptions import Conflict, Forbidden, NotFound, PayloadTooLarge
from core.models import Statement

from .. import events
from ..models import TaskExecution
from ..registry import RegisteredTask, registry

logger = logging.getLogger(__name__)

# The message header that tells the worker-side guard which execution a message runs.
EXECUTION_HEADER = "task_api_execution"
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IDEMPOTENCY_KEY_MAX_LENGTH = 255  # TaskExecution.idempotency_key
DISPATCH_BATCH_SIZE = 500
LOST_RUN_ERROR = "WorkerLostError: the run outlived its hard time limit; its worker was lost."

Status = TaskExecution.Status


class FinishedRow(NamedTuple):
    """A row an UPDATE finished: what `events.execution_finished` carries, and what the API shows of it."""

    execution_id: uuid.UUID
    user_id: int
    task_name: str
    # TaskExecution.FINISH_FIELDS as the row now holds them; None where the write did not answer them.
    shown: dict | None = None


UNFINISHED = tuple(status for status in Status.values if status not in TaskExecution.FINISHED)


def finish_executions(
    execution_ids: Collection,
    *,
    from_statuses: Collection[str],
    status: str,
    completed_at: datetime,
    along: Iterable[Statement] = (),
    **values,
) -> list[FinishedRow]:
    """Finish those of `execution_ids` still in one of `from_statuses`: `status`, `completed_at`
    and the columns in `values` -> the rows this UPDATE changed, each announced to the receivers
    of `execution_finished` (inside the caller's transaction, as the signal requires).

    One statement, `UPDATE ... RETURNING`, where the database has it (PostgreSQL, SQLite 3.35+):
    the changed rows come back with the write, so neither a lock beforehand nor a read after it
    is needed: the receivers of `execution_finished` get what they show, and the finish
    announcement what a waiting request answers (`shown`), without a query.
    Written out rather than built by the ORM: it runs for every execution a worker finishes,
    and compiling the equivalent queryset cost five times the Python time of the statement.

    `along`: other writes of the same moment (a run's result row, `core.results`), sent in the
    UPDATE's own statement as data-modifying CTEs on PostgreSQL (one round trip), else just
    before it, in the caller's transaction.
    """
    db = connections[router.db_for_write(TaskExecution)]
    joined = []
    for statement in along:
        if execution_ids and db.vendor == "postgresql" and statement.alias == db.alias:
            joined.append(statement)
        else:
            statement.send()
    if not execution_ids:
        return []
    quote, field = db.ops.quote_name, TaskExecution._meta.get_field
    assignments = {"status": status, "completed_at": completed_at, **values}
    set_sql = ", ".join(f"{quote(field(name).column)} = %s" for name in assignments)
    set_params = [field(name).get_db_prep_save(value, db) for name, value in assignments.items()]
    ids = [field("id").get_db_prep_value(execution_id, db) for execution_id in execution_ids]
    where_sql = (
        f"{quote('id')} IN ({', '.join(['%s'] * len(ids))}) "
        f"AND {quote('status')} IN ({', '.join(['%s'] * len(from_statuses))})"
    )
    table = quote(TaskExecution._meta.db_table)
    identity = ", ".join(quote(column) for column in ("id", "user_id", "task_name"))
    shown_columns = _shown_columns(db)
    with db.cursor() as cursor:
        # Django's flag for RETURNING on INSERT; where it holds, UPDATE ... RETURNING works too.
        if db.features.can_return_columns_from_insert:
            ctes = ", ".join(f"along_{index} AS ({statement.sql})" for index, statement in enumerate(joined))
            cursor.execute(
                (f"WITH {ctes} " if ctes else "")
                + f"UPDATE {table} SET {set_sql} WHERE {where_sql} "
                f"RETURNING {identity}, {', '.join(quote(column) for _, column, _, _ in shown_columns)}",
                [*(param for statement in joined for param in statement.params), *set_params, *ids, *from_statuses],
            )
            rows = cursor.fetchall()
        else:
            # Older SQLite, where writers take turns: the rows to change, then the UPDATE.
            cursor.execute(f"SELECT {identity} FROM {table} WHERE {where_sql}", [*ids, *from_statuses])
            rows = cursor.fetchall()
            cursor.execute(f"UPDATE {table} SET {set_sql} WHERE {where_sql}", [*set_params, *ids, *from_statuses])
    to_uuid = field("id").to_python  # SQLite answers the hex text
    finished = [
        FinishedRow(to_uuid(row[0]), row[1], row[2], _shown(db, shown_columns, row[3:]) if row[3:] else None)
        for row in rows
    ]
    announce_finished_to_receivers(finished, status=status, completed_at=completed_at)
    return finished


def _shown_columns(db) -> list[tuple[str, str, object, list]]:
    """(name, column, its expression, the converters a query applies to it) of each TaskExecution.FINISH_FIELDS."""
    columns = []
    for name in TaskExecution.FINISH_FIELDS:
        model_field = TaskExecution._meta.get_field(name)
        col = model_field.get_col(TaskExecution._meta.db_table)
        converters = [*db.ops.get_db_converters(col), *model_field.get_db_converters(db)]
        columns.append((name, model_field.column, col, converters))
    return columns


def _shown(db, shown_columns, values) -> dict:
    """A row's FINISH_FIELDS as the ORM would read them (JSON decoded, datetimes aware)."""
    shown = {}
    for (name, _, col, converters), value in zip(shown_columns, values, strict=True):
        for converter in converters:
            value = converter(value, col, db)
        shown[name] = value
    return shown


def announce_finished_to_receivers(rows: Iterable[FinishedRow], *, status: str, completed_at: datetime) -> None:
    """Send `events.execution_finished` once for each execution whose UPDATE just finished it
    (callers pass only the rows their UPDATE changed), inside that UPDATE's transaction."""
    for row in rows:
        events.execution_finished.send(
            sender=TaskExecution,
            execution_id=row.execution_id,
            status=status,
            user_id=row.user_id,
            task_name=row.task_name,
            completed_at=completed_at,
        )


def finished_row(execution: TaskExecution) -> FinishedRow:
    """What the signal and the announcement carry of an execution finished through its instance (then refreshed)."""
    shown = {name: getattr(execution, name) for name in TaskExecution.FINISH_FIELDS}
    return FinishedRow(execution.pk, execution.user_id, execution.task_name, shown)


def registered_task_for(*, user, task_name: str) -> RegisteredTask:
    """The registry entry `user` may run; 404 for unknown or unregistered names, 403 without permission."""
    entry = registry.get(task_name)
    if entry is None:
        raise NotFound(f"No task named {task_name!r} can be run through the API.")
    if not user.has_perms(entry.permissions):
        missing = [perm for perm in entry.permissions if not user.has_perm(perm)]
        raise Forbidden(f"Running {task_name} requires the permission(s): {', '.join(missing)}.")
    return entry


def authorize_call(*, entry: RegisteredTask, user, args: list, kwargs: dict) -> None:
    """403 when the task's `authorize` function refuses this user this call (args already checked)."""
    reason = entry.refusal(user, args, kwargs)
    if reason is not None:
        raise Forbidden(reason)


def check_idempotency_key(key: str | None) -> None:
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError({"Idempotency-Key": f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."})


def check_scheduled_at(*, scheduled_at: datetime, now: datetime) -> None:
    """A run date in the future, at most TASK_API_MAX_SCHEDULE_DAYS ahead."""
    if scheduled_at <= now:
        raise ValidationError({"scheduled_at": "Must be in the future."})
    max_days = settings.TASK_API_MAX_SCHEDULE_DAYS
    if scheduled_at - now > timedelta(days=max_days):
        raise ValidationError({"scheduled_at": f"Must be at most {max_days} days ahead."})


def check_payload(*, args, kwargs) -> None:
    """args and kwargs (a list and a dict: the serializers check the types) stay under the size cap."""
    try:
        size = len(json.dumps([args, kwargs], separators=(",", ":"), allow_nan=False).encode())
    except ValueError:
        # 1e400 parses to infinity, which no database stores as JSON.
        field = "args" if _not_finite(args) else "kwargs"
        raise ValidationError({field: "Numbers must be finite (at most about 1.8e308)."}) from None
    if size > settings.TASK_API_MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"args and kwargs take {size} bytes; the limit is {settings.TASK_API_MAX_PAYLOAD_BYTES}.")


def _not_finite(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return True
    return False


def request_fingerprint(*, task_name: str, args, kwargs, scheduled_at: datetime | None) -> str:
    body = {
        "task_name": task_name,
        "args": args,
        "kwargs": kwargs,
        "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _replay(*, user, idempotency_key: str, fingerprint: str, now: datetime) -> TaskExecution | None:
    """The execution an earlier request with this key created, or None when the key is free."""
    original = TaskExecution.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if original is None:
        return None
    if original.created_at < now - IDEMPOTENCY_KEY_TTL:
        # Past its lifetime the key is released, so it can name a new request.
        TaskExecution.objects.filter(pk=original.pk).update(idempotency_key=None)
        return None
    if original.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request body.")
    return original


def execution_submit(
    *,
    user,
    task_name: str,
    args: list,
    kwargs: dict,
    scheduled_at: datetime | None = None,
    idempotency_key: str | None = None,
    schedule=None,
    fire_time: datetime | None = None,
    rerun_of: TaskExecution | None = None,
    execution_id: uuid.UUID | None = None,
) -> tuple[TaskExecution, bool]:
    """Create an execution (or return the one an idempotent repeat refers to) -> (execution, created).

    Runs now when `scheduled_at` is None (the message leaves after commit), otherwise it
    waits as SCHEDULED in the database until the dispatcher picks it up. A `schedule`'s
    firing for `fire_time` is created once: a repeat returns the first (created False).
    """
    check_idempotency_key(idempotency_key)
    entry = registered_task_for(user=user, task_name=task_name)
    check_payload(args=args, kwargs=kwargs)
    entry.check_arguments(args, kwargs)
    authorize_call(entry=entry, user=user, args=args, kwargs=kwargs)
    now = timezone.now()
    fingerprint = request_fingerprint(task_name=task_name, args=args, kwargs=kwargs, scheduled_at=scheduled_at)
    if idempotency_key:
        original = _replay(user=user, idempotency_key=idempotency_key, fingerprint=fingerprint, now=now)
        if original is not None:
            return original, False
    # After the replay check: a retried request whose scheduled_at has since passed is still a repeat.
    if scheduled_at is not None:
        check_scheduled_at(scheduled_at=scheduled_at, now=now)

    execution = TaskExecution(
        # A caller may choose the id, to listen for the finish before the message leaves.
        id=execution_id or uuid.uuid4(),
        user=user,
        task_name=task_name,
        args=args,
        kwargs=kwargs,
        status=Status.SCHEDULED if scheduled_at else Status.PENDING,
        scheduled_at=scheduled_at,
        # Set before sending; a failed send clears it so the dispatcher sends again.
        dispatched_at=None if scheduled_at else now,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
        schedule=schedule,
        fire_time=fire_time,
        rerun_of=rerun_of,
        created_at=now,
    )
    if not idempotency_key and fire_time is None:
        _insert(execution)
    else:
        try:
            with transaction.atomic():
                _insert(execution)
        except IntegrityError:
            # A concurrent request with the same key (or another beat's firing of the same
            # tick) won the insert: answer as its repeat.
            original = None
            if fire_time is not None:
                original = TaskExecution.objects.filter(schedule=schedule, fire_time=fire_time).first()
            elif idempotency_key:
                original = _replay(user=user, idempotency_key=idempotency_key, fingerprint=fingerprint, now=now)
            if original is None:
                raise
            return original, False
    if execution.status == Status.PENDING:
        transaction.on_commit(lambda: _send([execution]))
    return execution, True


@cache
def _insert_statement(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    columns = [quote(field.column) for field in TaskExecution._meta.concrete_fields]
    return (
        f"INSERT INTO {quote(TaskExecution._meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


def _insert(execution: TaskExecution) -> None:
    """`execution.save(force_insert=True)` with its statement built once per process: the ORM
    compiled it again for every execute request, about a third of the save's CPU (profiled).
    The id is chosen here, so nothing is read back; the save signals are sent as save() does."""
    db = connections[router.db_for_write(TaskExecution)]
    signals.pre_save.send(sender=TaskExecution, instance=execution, raw=False, using=db.alias, update_fields=None)
    params = [
        field.get_db_prep_save(field.pre_save(execution, add=True), db) for field in TaskExecution._meta.concrete_fields
    ]
    with db.cursor() as cursor:
        cursor.execute(_insert_statement(db.alias), params)
    execution._state.adding, execution._state.db = False, db.alias
    signals.post_save.send(
        sender=TaskExecution, instance=execution, created=True, update_fields=None, raw=False, using=db.alias
    )


def _send(executions: list[TaskExecution]) -> None:
    """Hand executions to the broker; on failure they stay PENDING for the dispatcher to resend."""
    for index, execution in enumerate(executions):
        entry = registry.get(execution.task_name)
        try:
            if entry is None:
                raise LookupError(f"{execution.task_name} is no longer registered")
            entry.task.apply_async(
                args=execution.args,
                kwargs=execution.kwargs,
                task_id=execution.celery_task_id,
                headers={EXECUTION_HEADER: str(execution.pk)},
                # Fail fast: a request must not hang on a dead broker, the dispatcher retries.
                retry=False,
            )
        except Exception:
            logger.warning("Could not send execution %s; the dispatcher will retry", execution.pk, exc_info=True)
            unsent = [e.pk for e in executions[index:]]
            TaskExecution.objects.filter(pk__in=unsent, status=Status.PENDING).update(dispatched_at=None)
            return


def executions_dispatch_due(*, now: datetime | None = None, batch_size: int = DISPATCH_BATCH_SIZE) -> int:
    """Send due SCHEDULED executions and PENDING ones whose message never left or got lost.

    Rows are claimed under SKIP LOCKED on PostgreSQL (on SQLite writers are serialised by
    IMMEDIATE transactions) and by conditional updates, so concurrent dispatchers never
    send the same row twice in one round. Returns how many executions were sent.
    """
    now = now or timezone.now()
    redispatch_before = now - settings.TASK_API_REDISPATCH_AFTER
    fields = ("id", "user_id", "task_name", "args", "kwargs", "celery_task_id", "status")
    with transaction.atomic():
        locked = TaskExecution.objects.select_for_update(skip_locked=True).only(*fields)
        due = list(locked.filter(status=Status.SCHEDULED, scheduled_at__lte=now).order_by("scheduled_at")[:batch_size])
        due = _revoke_refused(due, now=now)
        unsent = list(
            locked.filter(status=Status.PENDING)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=redispatch_before))
            .order_by("created_at")[:batch_size]
        )
        if due:
            TaskExecution.objects.filter(pk__in=[e.pk for e in due], status=Status.SCHEDULED).update(
                status=Status.PENDING, dispatched_at=now
            )
        if unsent:
            TaskExecution.objects.filter(pk__in=[e.pk for e in unsent], status=Status.PENDING).update(dispatched_at=now)
        to_send = due + unsent
        if to_send:
            transaction.on_commit(lambda: _send(to_send))
    return len(to_send)


def _revoke_refused(due: list[TaskExecution], *, now: datetime) -> list[TaskExecution]:
    """REVOKE the due executions their owner may no longer run; the others, to send.

    Rights can change between the request and the run: the permission, the account, or
    what `authorize` looks at (a department move). The run happens on the owner's behalf
    now, so it is checked now.
    """
    if not due:
        return due
    users = get_user_model().objects.in_bulk({execution.user_id for execution in due})
    allowed = []
    for execution in due:
        reason = _dispatch_refusal(execution, users.get(execution.user_id))
        if reason is None:
            allowed.append(execution)
            continue
        logger.warning("Execution %s revoked at dispatch: %s", execution.pk, reason)
        for row in finish_executions(
            [execution.pk],
            from_statuses=[Status.SCHEDULED],
            status=Status.REVOKED,
            completed_at=now,
            error=f"PermissionDenied: {reason}",
        ):
            transaction.on_commit(lambda row=row: events.announce_finished(row.execution_id, shown=row.shown))
    return allowed


def _dispatch_refusal(execution: TaskExecution, user) -> str | None:
    """Why `user` may not run `execution` any more (None when they still may)."""
    if user is None or not user.is_active:
        return "The owner's account is inactive."
    entry = registry.get(execution.task_name)
    if entry is None:
        return f"{execution.task_name} is no longer registered."
    if not user.has_perms(entry.permissions):
        missing = [perm for perm in entry.permissions if not user.has_perm(perm)]
        return f"The owner no longer has the permission(s): {', '.join(missing)}."
    try:
        entry.check_arguments(execution.args, execution.kwargs)
        return entry.refusal(user, execution.args, execution.kwargs)
    except ValidationError as exc:
        return f"The arguments no longer fit {execution.task_name}: {'; '.join(exc.messages)}"
    except Exception:
        # One broken authorize function must not stop the dispatch of every other row.
        logger.exception("authorize of %s failed for execution %s", execution.task_name, execution.pk)
        return f"The authorization check of {execution.task_name} failed."


def executions_fail_lost(*, now: datetime | None = None) -> int:
    """Finish as FAILURE the runs still STARTED past their hard time limit: their worker died."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked first (another run skips them) so the signals name exactly the rows finished here.
        lost = TaskExecution.objects.filter(status__in=TaskExecution.RUNNING, run_deadline__lt=now)
        execution_ids = list(lost.select_for_update(skip_locked=True).values_list("pk", flat=True))
        if not execution_ids:
            return 0
        failed = finish_executions(
            execution_ids,
            from_statuses=TaskExecution.RUNNING,
            status=Status.FAILURE,
            completed_at=now,
            traceback=LOST_RUN_ERROR,
            error=LOST_RUN_ERROR,
        )
    return len(failed)


@transaction.atomic
def execution_cancel(*, execution: TaskExecution) -> TaskExecution:
    """SCHEDULED/PENDING -> REVOKED; the worker-side guard then refuses to run it (409 otherwise)."""
    was_sent = execution.status == Status.PENDING
    cancelled = TaskExecution.objects.filter(pk=execution.pk, status__in=TaskExecution.CANCELLABLE).update(
        status=Status.REVOKED, completed_at=timezone.now()
    )
    execution.refresh_from_db()
    if not cancelled:
        raise Conflict(f"An execution in state {execution.status} cannot be cancelled.")
    row = finished_row(execution)
    announce_finished_to_receivers([row], status=Status.REVOKED, completed_at=execution.completed_at)
    transaction.on_commit(lambda: events.announce_finished(execution.pk, shown=row.shown))
    if was_sent:
        transaction.on_commit(lambda: _revoke(execution.celery_task_id))
    return execution


@transaction.atomic
def execution_rerun(*, execution: TaskExecution) -> TaskExecution:
    """A new execution of the same task, arguments and owner, linked to `execution` (staff's re-run).

    It is a normal request on the owner's behalf, so the owner's rights are checked now, as
    the dispatcher checks a due run. A waiting original is cancelled first so the work
    cannot run twice; a running one must end (or be marked failed) first (409).
    """
    execution = TaskExecution.objects.select_for_update().select_related("user").get(pk=execution.pk)
    if execution.status in (*TaskExecution.RUNNING, Status.RETRY):
        raise Conflict(f"An execution in state {execution.status} is still running; mark it failed first.")
    owner = execution.user
    if not owner.is_active:
        raise Forbidden("The owner's account is inactive.")
    if execution.status in TaskExecution.CANCELLABLE:
        execution_cancel(execution=execution)
    rerun, _ = execution_submit(
        user=owner,
        task_name=execution.task_name,
        args=execution.args,
        kwargs=execution.kwargs,
        rerun_of=execution,
    )
    return rerun


@transaction.atomic
def execution_mark_failed(*, execution: TaskExecution, by) -> TaskExecution:
    """Any unfinished state -> FAILURE, for a run staff know is lost (409 once it has finished).

    The worker-side claim then refuses to start it, and a late outcome of a run still alive
    somewhere writes only over unfinished rows, so the FAILURE stands.
    """
    previous = execution.status
    error = f"MarkedFailed: marked failed by {getattr(by, 'email', by)} while {previous}."
    changed = (
        TaskExecution.objects.filter(pk=execution.pk)
        .exclude(status__in=TaskExecution.FINISHED)
        .update(status=Status.FAILURE, completed_at=timezone.now(), error=error, traceback=error)
    )
    execution.refresh_from_db()
    if not changed:
        raise Conflict(f"An execution in state {execution.status} has already finished.")
    row = finished_row(execution)
    announce_finished_to_receivers([row], status=Status.FAILURE, completed_at=execution.completed_at)
    transaction.on_commit(lambda: events.announce_finished(execution.pk, shown=row.shown))
    if previous != Status.SCHEDULED:
        transaction.on_commit(lambda: _revoke(execution.celery_task_id))
    return execution


def _revoke(celery_task_id: str) -> None:
    # Only spares a worker the trip to the database; the REVOKED row is what stops the run.
    try:
        current_app.control.revoke(celery_task_id)
    except Exception:
        logger.warning("Could not broadcast revoke for %s", celery_task_id, exc_info=True)


def executions_purge(*, older_than: timedelta) -> int:
    """Delete finished executions created before `older_than` ago."""
    cutoff = timezone.now() - older_than
    deleted, _ = TaskExecution.objects.filter(status__in=TaskExecution.FINISHED, created_at__lt=cutoff).delete()
    return deleted
