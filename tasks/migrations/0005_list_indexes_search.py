from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# PostgreSQL only (SQLite has neither NULLS LAST in an index nor trigrams, and its tables are
# small): the indexes that keep a page of tasks a short read however large the table.
LIVE = "WHERE deleted_at IS NULL"
INDEXES = {
    # One per list ordering, as tasks.filters.TaskOrderingFilter writes it (nulls last, then
    # -id), over live tasks: a page is a walk of the first rows of one of these.
    **{
        f"task_live_{short}_{direction}_idx": f"tasks_task ({column} {direction} NULLS LAST, id DESC) {LIVE}"
        for column, short in [
            ("due_date", "due"), ("priority_rank", "prio"), ("created_at", "created"), ("updated_at", "updated")
        ]
        for direction in ("asc", "desc")
    },
    # `?search=` is `UPPER(col) LIKE UPPER('%word%')` (icontains): trigram GIN indexes answer it.
    "task_title_trgm_idx": f"tasks_task USING gin (UPPER(title) gin_trgm_ops) {LIVE}",
    "task_description_trgm_idx": f"tasks_task USING gin (UPPER(description) gin_trgm_ops) {LIVE}",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, target in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0004_dashboard_created_completed_indexes"),
    ]

    operations = [
        TrigramExtension(),  # a no-op on other databases
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
