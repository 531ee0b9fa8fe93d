from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # tasks: registers the email send task, which the outbox finds by its name.
        from . import receivers, tasks  # noqa: F401

        receivers.connect()
