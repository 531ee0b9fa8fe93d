"""Database triggers that keep copies of a task's columns on the rows that hang off it, so the
reads that filter those rows by their task need not read the task:

- the assignee rows (TaskAssignee, tasks_task_assignees): task_status, task_due_date,
  task_live (deleted_at IS NULL) and task_department_id, for a person's task_stats and a
  manager's tasks outside their departments;
- the assignment records (TaskAssignment, tasks_taskassignment): task_department_id and
  task_live, for who sees a record (`/task-assignments/`).

Triggers rather than code in the services: tasks change through save(), update(), bulk_update(),
the expiry statement (tasks.expiry), the admin's restore and raw SQL, and every one of them must
keep the copies right. A new row copies its task's values; a task whose copied columns change
writes them to its rows (an update that changes none of them, such as a new priority, writes
nothing more).

On SQLite the triggers live outside the migrations: SQLite alters a table by rebuilding it,
which drops the table's own triggers and fails while another table's trigger names it. So there
`migrate` drops them first and installs them again, with the copies refilled, when it is done
(TasksConfig connects `drop_before_migrate` and `install_after_migrate`); a migration that writes
tasks on SQLite is covered by that refill. On PostgreSQL migration tasks 0007 installs them once.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Copy:
    """`columns` of tasks_task (an SQL expression over the task row each) copied onto `table`."""

    table: str
    columns: dict[str, str]  # copy column -> expression over the task row
    watched: tuple[str, ...]  # the task columns the expressions read

    def assignments(self, row: str) -> str:
        return ", ".join(f"{copy} = {expression.format(t=row)}" for copy, expression in self.columns.items())

    def changed(self, distinct: str) -> str:
        return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in self.watched)


COPIES = (
    Copy(
        "tasks_task_assignees",
        {
            "task_status": "{t}.status", "task_due_date": "{t}.due_date", "task_live": "{t}.deleted_at IS NULL",
            "task_department_id": "{t}.department_id",
        },
        ("status", "due_date", "deleted_at", "department_id"),
    ),
    Copy(
        "tasks_taskassignment",
        {"task_department_id": "{t}.department_id", "task_live": "{t}.deleted_at IS NULL"},
        ("department_id", "deleted_at"),
    ),
)


def _postgresql(copy: Copy) -> list[str]:
    on_insert, on_task = f"{copy.table}_copy_task", f"tasks_task_copy_to_{copy.table}"
    targets = ", ".join(f"NEW.{column}" for column in copy.columns)
    expressions = ", ".join(expression.format(t="t") for expression in copy.columns.values())
    return [
        f"""
        CREATE OR REPLACE FUNCTION {on_insert}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT {expressions} INTO {targets} FROM tasks_task t WHERE t.id = NEW.task_id;
            RETURN NEW;
        END $$
        """,
        f"""
        CREATE OR REPLACE TRIGGER {on_insert} BEFORE INSERT OR UPDATE OF task_id ON {copy.table}
        FOR EACH ROW EXECUTE FUNCTION {on_insert}()
        """,
        f"""
        CREATE OR REPLACE FUNCTION {on_task}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {copy.table} SET {copy.assignments("NEW")} WHERE task_id = NEW.id;
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE TRIGGER {on_task} AFTER UPDATE OF {", ".join(copy.watched)} ON tasks_task
        FOR EACH ROW WHEN ({copy.changed("IS DISTINCT FROM")}) EXECUTE FUNCTION {on_task}()
        """,
    ]


def _sqlite(copy: Copy) -> list[str]:
    # SQLite's triggers cannot change the row being inserted: the new row is updated after it.
    columns = ", ".join(copy.columns)
    expressions = ", ".join(expression.format(t="tasks_task") for expression in copy.columns.values())
    return [
        f"""
        CREATE TRIGGER IF NOT EXISTS {copy.table}_copy_task AFTER INSERT ON {copy.table} FOR EACH ROW
        BEGIN
            UPDATE {copy.table} SET ({columns}) = (
                SELECT {expressions} FROM tasks_task WHERE tasks_task.id = NEW.task_id
            ) WHERE id = NEW.id;
        END
        """,
        f"""
        CREATE TRIGGER IF NOT EXISTS tasks_task_copy_to_{copy.table}
        AFTER UPDATE OF {", ".join(copy.watched)} ON tasks_task
        FOR EACH ROW WHEN {copy.changed("IS NOT")}
        BEGIN
            UPDATE {copy.table} SET {copy.assignments("NEW")} WHERE task_id = NEW.id;
        END
        """,
    ]


def _drop(copy: Copy, vendor: str) -> list[str]:
    on_insert, on_task = f"{copy.table}_copy_task", f"tasks_task_copy_to_{copy.table}"
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {on_task}", f"DROP TRIGGER IF EXISTS {on_insert}"]
    return [
        f"DROP TRIGGER IF EXISTS {on_task} ON tasks_task",
        f"DROP TRIGGER IF EXISTS {on_insert} ON {copy.table}",
        f"DROP FUNCTION IF EXISTS {on_task}()",
        f"DROP FUNCTION IF EXISTS {on_insert}()",
    ]


def _backfill(copy: Copy, vendor: str) -> str:
    if vendor == "postgresql":
        return f"UPDATE {copy.table} SET {copy.assignments('t')} FROM tasks_task t WHERE t.id = {copy.table}.task_id"
    # SQLite's UPDATE ... FROM is newer than the oldest SQLite Django supports.
    columns = ", ".join(copy.columns)
    expressions = ", ".join(expression.format(t="tasks_task") for expression in copy.columns.values())
    return (
        f"UPDATE {copy.table} SET ({columns}) = "
        f"(SELECT {expressions} FROM tasks_task WHERE tasks_task.id = {copy.table}.task_id)"
    )


def _run(connection, statements) -> None:
    if connection.vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"No task-copy triggers for {connection.vendor}: the copies would go stale.")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# `copies` defaults to today's COPIES; a migration passes the ones its schema has, so that
# replaying it later does not name columns a later migration added.


def install(connection, copies: Sequence[Copy] = COPIES) -> None:
    builder = _postgresql if connection.vendor == "postgresql" else _sqlite
    _run(connection, [statement for copy in copies for statement in builder(copy)])


def uninstall(connection, copies: Sequence[Copy] = COPIES) -> None:
    _run(connection, [statement for copy in copies for statement in _drop(copy, connection.vendor)])


def backfill(connection, copies: Sequence[Copy] = COPIES) -> None:
    """Fill the copies of the rows that exist (before the triggers keep them)."""
    _run(connection, [_backfill(copy, connection.vendor) for copy in copies])


def _sqlite_with_copies(using: str):
    """The connection `using` when it is SQLite and its tables have the copy columns, else None."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        columns = {
            table: {column.name for column in connection.introspection.get_table_description(cursor, table)}
            for table in (copy.table for copy in COPIES) if table in tables
        }
    return connection if all(set(copy.columns) <= columns.get(copy.table, set()) for copy in COPIES) else None


def drop_before_migrate(*, using: str, **kwargs) -> None:
    """pre_migrate receiver (SQLite): no trigger in the way of a table rebuild."""
    from django.db import connections

    if connections[using].vendor == "sqlite":
        uninstall(connections[using])


def install_after_migrate(*, using: str, **kwargs) -> None:
    """post_migrate receiver (SQLite): the copies refilled and the triggers back."""
    connection = _sqlite_with_copies(using)
    if connection is not None:
        backfill(connection)
        install(connection)
