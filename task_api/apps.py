from django.apps import AppConfig


class TaskApiConfig(AppConfig):
    name = "task_api"
    verbose_name = "Task API"
