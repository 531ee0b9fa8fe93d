from django.db import migrations

# PostgreSQL only. How common a searched word is, the planner reads from the search document's
# histogram: with the default 100 entries a word in one task of eight (127,000 of a million) was
# estimated anywhere from 85,000 to 130,000, so whether a CEO's count could be the estimate
# (core.pagination: ten times EXACT_COUNT_LIMIT) changed from one ANALYZE to the next. With 1,000
# entries the estimate is within about 8 % of the truth; ANALYZE samples 300,000 rows instead of
# 30,000.
STATISTICS = 1000


def set_statistics(target):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE tasks_task ALTER COLUMN search_document SET STATISTICS {target}")

    return run


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_task_search_document")]

    operations = [migrations.RunPython(set_statistics(STATISTICS), set_statistics(-1))]
