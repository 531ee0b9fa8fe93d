from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"

    def ready(self):
        from accounts.selectors import register_user_annotation

        from .selectors import users_with_task_stats
        from .task_copies import drop_before_migrate, install_after_migrate

        register_user_annotation(users_with_task_stats)
        pre_migrate.connect(drop_before_migrate, sender=self, dispatch_uid="tasks.task_copies")
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="tasks.task_copies")
