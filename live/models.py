from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Event(models.Model):
    """One entry of the live event log; its id is the Server-Sent Events id.

    User-addressed events (`notification.created`, `execution.updated`) name their reader in
    `user`; a `task.updated` is stored once per task change with `task` set and no user, and
    reaches whoever may see the task when the stream reads it.
    """

    class Kind(models.TextChoices):
        NOTIFICATION_CREATED = "notification.created", "Notification created"
        EXECUTION_UPDATED = "execution.updated", "Execution updated"
        TASK_UPDATED = "task.updated", "Task updated"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # No constraint: a task's events go with the log's retention, not with the task.
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )
    data = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # A reader's own events after its cursor: (user_id = me AND id > n).
            models.Index(fields=["user", "id"], condition=models.Q(user__isnull=False), name="live_event_user_idx"),
            # Task events after the cursor, each then tested against the reader's visibility.
            models.Index(fields=["id"], condition=models.Q(task__isnull=False), name="live_event_task_idx"),
            # The purge.
            models.Index(fields=["created_at"], name="live_event_created_idx"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.id}"


class PurgeMark(models.Model):
    """The highest event id the purge has deleted (one row): a Last-Event-ID below it may
    have missed events, and its stream starts with a `reset`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    purged_through = models.BigIntegerField(default=0)
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"events purged through #{self.purged_through}"
