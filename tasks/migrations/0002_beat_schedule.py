"""Once wrote the beat schedule; config/beat.py holds it now and core syncs it after every migrate.

Kept, empty, so databases that applied it stay consistent with the migration graph.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = []
