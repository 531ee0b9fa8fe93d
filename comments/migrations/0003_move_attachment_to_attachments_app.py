from django.db import migrations


class Migration(migrations.Migration):
    """Attachment moved to the attachments app: its table, rows and files stay where they are."""

    dependencies = [
        ("comments", "0002_task_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Attachment")],
            database_operations=[],
        ),
    ]
