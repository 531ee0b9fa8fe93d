from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"

    def ready(self):
        from accounts.selectors import register_user_annotation

        from .selectors import users_with_task_stats

        register_user_annotation(users_with_task_stats)
