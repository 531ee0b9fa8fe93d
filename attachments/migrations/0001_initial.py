import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import attachments.models


def adopt_content_type(apps, schema_editor):
    # Permissions granted on attachments and admin log entries follow the model.
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="attachments", model="attachment").exists():
        ContentType.objects.filter(app_label="comments", model="attachment").update(app_label="attachments")


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="comments", model="attachment").exists():
        ContentType.objects.filter(app_label="attachments", model="attachment").update(app_label="comments")


class Migration(migrations.Migration):
    """The Attachment model, taken over from the comments app with its table
    (comments_attachment), index and rows: nothing changes in the database."""

    initial = True

    dependencies = [
        ("comments", "0003_move_attachment_to_attachments_app"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tasks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Attachment",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("file", models.FileField(max_length=300, upload_to=attachments.models.attachment_path)),
                        ("name", models.CharField(max_length=255)),
                        ("size", models.PositiveBigIntegerField()),
                        ("content_type", models.CharField(blank=True, max_length=150)),
                        ("uploaded_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("task", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="attachments", to="tasks.task")),
                        ("uploaded_by", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="attachments", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "comments_attachment",
                        "ordering": ["-uploaded_at", "-id"],
                        "indexes": [models.Index(fields=["task", "-uploaded_at"], name="attachment_task_uploaded_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_content_type, restore_content_type, elidable=True),
    ]
