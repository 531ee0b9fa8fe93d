import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from tasks import task_copies
from tasks.task_copies import Copy

# PostgreSQL only (0006): replaced by task_assignee_user_stats_idx, which starts with the same
# user and ends with the task.
OLD_INDEX = ("task_assignee_user_task_idx", "tasks_task_assignees (user_id, task_id)")
# The copies as this migration makes them (tasks.task_copies.COPIES may grow later).
COPIES = [
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
]


# task_stats count from task_assignee_user_stats_idx alone only on pages the visibility map
# marks all-visible, and a task's status, due date or deletion rewrites its assignee rows: rows
# changed on scattered pages soon dirty them all (measured at 1M tasks, a page of ten users read
# 90 pages, 429 after 500 tasks changed and 6,948 after 10,000; 30,440 before the copies). So
# vacuumed after every 2,000 rows changed or added, not after 20% of the table (300,000 rows).
VACUUM_PARAMETERS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "2000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "2000",
}


def install(apps, schema_editor):
    # On SQLite the triggers are installed after `migrate` (see tasks.task_copies).
    connection = schema_editor.connection
    task_copies.backfill(connection, COPIES)
    if connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX[0]}")
        parameters = ", ".join(f"{name} = {value}" for name, value in VACUUM_PARAMETERS.items())
        schema_editor.execute(f"ALTER TABLE tasks_task_assignees SET ({parameters})")
        task_copies.install(connection, COPIES)


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        task_copies.uninstall(connection, COPIES)
        schema_editor.execute(f"ALTER TABLE tasks_task_assignees RESET ({', '.join(VACUUM_PARAMETERS)})")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {OLD_INDEX[0]} ON {OLD_INDEX[1]}")


class Migration(migrations.Migration):
    """The assignees relation's table gets a model (TaskAssignee, same table and columns) with
    copies of its task's status, due date and liveness; the assignment records get copies of
    their task's department and liveness; triggers keep them (tasks.task_copies)."""

    dependencies = [
        ("accounts", "0003_api_key_scopes"),
        ("tasks", "0006_manager_count_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The table Django made for the relation, as it is: only the state learns its model.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TaskAssignee",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("task", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                   related_name="+", to="tasks.task")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                   related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "tasks_task_assignees", "unique_together": {("task", "user")}},
                ),
                migrations.AlterField(
                    model_name="task",
                    name="assignees",
                    field=models.ManyToManyField(
                        blank=True, related_name="assigned_tasks", through="tasks.TaskAssignee",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        # The single-column indexes are covered by the unique (task, user) and the new index.
        migrations.AlterField(
            model_name="taskassignee",
            name="task",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to="tasks.task"),
        ),
        migrations.AlterField(
            model_name="taskassignee",
            name="user",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="taskassignee",
            name="task_status",
            field=models.CharField(
                choices=[("todo", "To do"), ("in_progress", "In progress"), ("done", "Done"), ("failed", "Failed")],
                default="", editable=False, max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="taskassignee",
            name="task_due_date",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="taskassignee",
            name="task_live",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.AddField(
            model_name="taskassignee",
            name="task_department",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, editable=False, null=True,
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="accounts.department",
            ),
        ),
        migrations.AddField(
            model_name="taskassignment",
            name="task_department",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, editable=False, null=True,
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="accounts.department",
            ),
        ),
        migrations.AddField(
            model_name="taskassignment",
            name="task_live",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
        migrations.RemoveIndex(model_name="taskassignment", name="taskassignment_recent_idx"),
        migrations.AddIndex(
            model_name="taskassignment",
            index=models.Index(
                fields=["-created_at", "-id"], name="taskassignment_recent_idx",
                include=("task", "assigned_to", "assigned_by", "action", "task_department", "task_live"),
            ),
        ),
        migrations.AddIndex(
            model_name="taskassignment",
            index=models.Index(condition=models.Q(task_live=True), fields=["task_department"],
                               name="taskassignment_live_dept_idx"),
        ),
        migrations.AddIndex(
            model_name="taskassignee",
            index=models.Index(
                fields=["user", "task_live", "task_status", "task_due_date", "task"],
                name="task_assignee_user_stats_idx", include=("task_department",),
            ),
        ),
    ]
