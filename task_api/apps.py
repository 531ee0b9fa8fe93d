from django.apps import AppConfig


class TaskApiConfig(AppConfig):
    name = "task_api"
    verbose_name = "Task API"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        from . import signals  # noqa: F401

        # The web process must know every @api_task too, not only the worker that
        # autodiscovers them: import each app's `tasks` and `reports` modules, as config.celery does.
        autodiscover_modules("tasks", "reports")
