"""The Celery result backend: django-celery-results' database backend over `core.models.StoredTaskResult`."""

from django_celery_results.backends.database import DatabaseBackend as _DatabaseBackend

from .models import StoredTaskResult


class DatabaseBackend(_DatabaseBackend):
    TaskModel = StoredTaskResult
