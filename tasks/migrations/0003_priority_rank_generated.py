import django.db.models.expressions
import django.db.models.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0002_beat_schedule"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="task",
            name="priority_rank",
        ),
        migrations.AddField(
            model_name="task",
            name="priority_rank",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.Case(
                    models.When(priority="low", then=models.Value(0)),
                    models.When(priority="medium", then=models.Value(1)),
                    models.When(priority="high", then=models.Value(2)),
                    models.When(priority="critical", then=models.Value(3)),
                ),
                output_field=django.db.models.fields.PositiveSmallIntegerField(),
            ),
        ),
    ]
