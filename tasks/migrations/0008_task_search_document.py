import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models

# PostgreSQL only, as in 0005 and 0006. One trigram index over the stored search document
# replaces the two over UPPER(title) and UPPER(description); it leads with the department
# (btree_gin) so that a manager's search finds "in my department AND has the word" inside the
# index, and a search without a department condition uses it as well (a multicolumn GIN index
# serves any subset of its columns).
SEARCH_INDEX = (
    "task_dept_search_trgm_idx",
    "tasks_task USING gin (department_id, search_document gin_trgm_ops) WHERE deleted_at IS NULL",
)
REPLACED_INDEXES = {
    "task_title_trgm_idx": "tasks_task USING gin (UPPER(title) gin_trgm_ops) WHERE deleted_at IS NULL",
    "task_description_trgm_idx": "tasks_task USING gin (UPPER(description) gin_trgm_ops) WHERE deleted_at IS NULL",
}
# The planner now reads how common a word is from the column's own statistics.
REPLACED_STATISTICS = {
    "task_title_search_stats": "(UPPER(title::text)) FROM tasks_task",
    "task_description_search_stats": "(UPPER(description)) FROM tasks_task",
}


def replace_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX[0]} ON {SEARCH_INDEX[1]}")
        for name in REPLACED_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        for name in REPLACED_STATISTICS:
            schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


def restore_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, target in REPLACED_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
        for name, target in REPLACED_STATISTICS.items():
            schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {name} ON {target}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX[0]}")


class Migration(migrations.Migration):
    """The stored search document and its one trigram index (see above); the creator's and
    the assigner's foreign-key indexes become (person, department) indexes, so a manager's tasks
    outside their departments are found in the index (tasks.selectors.ManagerCountParts)."""

    dependencies = [
        ("tasks", "0007_assignee_task_columns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        BtreeGinExtension(),  # trusted since PostgreSQL 13; a no-op on other databases
        migrations.AddField(
            model_name="task",
            name="search_document",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Concat(
                        "title", models.Value(" "), "description", output_field=models.TextField()
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(replace_indexes, restore_indexes, elidable=False),
        migrations.AlterField(
            model_name="task",
            name="creator",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="created_tasks",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="assigned_by",
            field=models.ForeignKey(
                blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
                related_name="+", to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["creator", "department"], name="task_creator_dept_idx"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["assigned_by", "department"], name="task_assigned_by_dept_idx"),
        ),
    ]
