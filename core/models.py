"""Celery task results, stored in django-celery-results' table with one upsert per state change."""

from django.db.models.constants import OnConflict
from django_celery_results.managers import TaskResultManager
from django_celery_results.models import TaskResult


class UpsertTaskResultManager(TaskResultManager):
    """`store_result` as one `INSERT ... ON CONFLICT (task_id) DO UPDATE`.

    django-celery-results stores a state with `get_or_create` (a SELECT, then an INSERT in a
    transaction of its own, or a second write for a known task), several times per task. The
    upsert writes the same columns in one statement and needs no retry on a race between two
    workers. Same arguments as the original. The statement is sent on its own (autocommit):
    `bulk_create` would wrap it in a transaction, two more round trips (BEGIN, COMMIT) for
    every result a worker stores.
    """

    def store_result(
        self,
        content_type,
        content_encoding,
        task_id,
        result,
        status,
        traceback=None,
        meta=None,
        periodic_task_name=None,
        task_name=None,
        task_args=None,
        task_kwargs=None,
        worker=None,
        using=None,
        **kwargs,
    ):
        if kwargs:  # date_started (a STARTED state) is an expression: leave it to the original
            return super().store_result(
                content_type, content_encoding, task_id, result, status, traceback, meta,
                periodic_task_name, task_name, task_args, task_kwargs, worker, using, **kwargs,
            )
        fields = {
            "status": status,
            "result": result,
            "traceback": traceback,
            "meta": meta,
            "content_encoding": content_encoding,
            "content_type": content_type,
            "periodic_task_name": periodic_task_name,
            "task_name": task_name,
            "task_args": task_args,
            "task_kwargs": task_kwargs,
            "worker": worker,
        }
        stored = self.model(task_id=task_id, **fields)
        meta = self.model._meta
        queryset = self.using(using)
        # What bulk_create(update_conflicts=True) sends, without its transaction: one
        # statement is atomic by itself. date_created/date_done are filled in as there.
        queryset._insert(
            [stored],
            fields=[field for field in meta.concrete_fields if field is not meta.pk],
            on_conflict=OnConflict.UPDATE,
            update_fields=[meta.get_field(name) for name in (*fields, "date_done")],
            unique_fields=[meta.get_field("task_id")],
        )
        return stored


class StoredTaskResult(TaskResult):
    """django-celery-results' TaskResult (same table), written through the upsert manager."""

    objects = UpsertTaskResultManager()

    class Meta:
        proxy = True
        app_label = "core"
