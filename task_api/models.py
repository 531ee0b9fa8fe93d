import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


def new_celery_task_id() -> str:
    return str(uuid.uuid4())


class TaskSchedule(models.Model):
    """A user's recurring run of a registered task; the timing lives in django-celery-beat."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_schedules")
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # Deleting the beat entry (e.g. in the beat admin) removes the schedule with it.
    periodic_task = models.OneToOneField(PeriodicTask, on_delete=models.CASCADE, related_name="task_api_schedule")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.task_name} for {self.user_id}"


class TaskExecution(models.Model):
    """One run of a registered task requested through the API: the source of truth for its state."""

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", "Scheduled"
        PENDING = "PENDING", "Pending"
        STARTED = "STARTED", "Started"
        PROGRESS = "PROGRESS", "In progress"
        RETRY = "RETRY", "Retrying"
        SUCCESS = "SUCCESS", "Success"
        FAILURE = "FAILURE", "Failure"
        REVOKED = "REVOKED", "Revoked"

    FINISHED = (Status.SUCCESS, Status.FAILURE, Status.REVOKED)
    CANCELLABLE = (Status.SCHEDULED, Status.PENDING)
    RUNNING = (Status.STARTED, Status.PROGRESS)
    # What a finish may change of those the API shows (the rest is fixed once the row exists):
    # the finish announcement carries them, so a waiting request answers without reading the row.
    FINISH_FIELDS = ("status", "result", "error", "traceback", "started_at", "completed_at", "progress")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by taskexec_user_created_idx (user first); every index is paid on each state change.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_executions", db_index=False
    )
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    traceback = models.TextField(null=True, blank=True)
    # Why it failed or was refused, as "ExceptionType: message": shown to everyone, where the
    # traceback (server paths, code) is for staff only.
    error = models.TextField(null=True, blank=True)
    progress = models.JSONField(null=True, blank=True)
    # Generated with the row so the message can be sent (and re-sent) under a known id.
    celery_task_id = models.CharField(max_length=36, default=new_celery_task_id)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    schedule = models.ForeignKey(
        TaskSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions", db_index=False
    )
    # The beat tick a recurring schedule's firing is for (task_api/scheduler.py): with two beats
    # both fire it, and the unique constraint below lets only the first become an execution.
    fire_time = models.DateTimeField(null=True, blank=True, editable=False)
    retries = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # When the message was last handed to the broker; null means it still has to be sent.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A run still STARTED after this moment outlived its hard time limit: its worker is gone.
    run_deadline = models.DateTimeField(null=True, blank=True, editable=False)
    # Staff re-ran this execution (admin): the one it repeats, same task, arguments and owner.
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns", db_index=False
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="taskexec_user_created_idx"),
            models.Index(fields=["status", "scheduled_at"], name="taskexec_status_sched_idx"),
            # The staff dashboard's hourly buckets over the last 48 h (and purge's cutoff).
            models.Index(fields=["created_at"], name="taskexec_created_idx"),
            # Only executions fired by a recurring schedule carry one.
            models.Index(fields=["schedule"], condition=Q(schedule__isnull=False), name="taskexec_schedule_idx"),
            # Only re-runs carry one; it keeps SET_NULL on purge from scanning the table.
            models.Index(fields=["rerun_of"], condition=Q(rerun_of__isnull=False), name="taskexec_rerun_of_idx"),
        ]
        constraints = [
            # A constraint rather than unique=True: no second (LIKE-pattern) index on PostgreSQL.
            models.UniqueConstraint(fields=["celery_task_id"], name="taskexec_unique_celery_task_id"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="taskexec_unique_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["schedule", "fire_time"],
                condition=Q(fire_time__isnull=False),
                name="taskexec_unique_schedule_fire",
            ),
        ]
        # The permissions the example tasks require; grant them to users or groups in admin.
        permissions = [
            ("run_reports", "Can run report tasks through the task API"),
            ("send_emails", "Can send emails through the task API"),
            ("run_benchmarks", "Can run benchmark tasks through the task API"),
            ("run_maintenance", "Can run maintenance tasks through the task API"),
        ]

    def __str__(self):
        return f"{self.task_name} [{self.status}]"

    @property
    def is_complete(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration(self):
        if self.started_at and self.completed_at:
            return self.completed_at - self.started_at
        return None
