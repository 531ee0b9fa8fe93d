import uuid

from django.conf import settings
from django.db import models


class AliveTaskManager(models.Manager):
    """Soft-deleted tasks are invisible everywhere but the admin."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Task(models.Model):
    class Status(models.TextChoices):
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    OPEN_STATUSES = (Status.TODO, Status.IN_PROGRESS)

    PRIORITY_RANKS = {
        Priority.LOW: 0,
        Priority.MEDIUM: 1,
        Priority.HIGH: 2,
        Priority.CRITICAL: 3,
    }

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TODO)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    # Numeric rank of `priority`, so ordering by priority means low < medium < high < critical.
    # The database computes it, so no write path (update(), bulk_update(), raw SQL) can leave it stale.
    priority_rank = models.GeneratedField(
        expression=models.Case(
            *[models.When(priority=priority, then=models.Value(rank)) for priority, rank in PRIORITY_RANKS.items()]
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_tasks"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_tasks"
    )
    # Not indexed alone: task_dept_status_due_idx leads with it.
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks",
        db_index=False,
    )
    due_date = models.DateTimeField(null=True, blank=True)
    estimate_hours = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    is_delegated = models.BooleanField(default=False)
    completed_late = models.BooleanField(default=False)
    # The due date a reminder was last sent for; a moved due date re-arms the reminder.
    reminder_sent_for = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = AliveTaskManager()
    all_objects = models.Manager()  # noqa: DJ012 - declared second so `objects` stays the default

    class Meta:
        ordering = ["-due_date", "-id"]
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["status", "due_date"], name="task_status_due_idx"),
            # A manager's department read from the index alone (counts, filters by status or
            # due date): deleted_at tells live rows apart, id joins them to their other rows.
            models.Index(
                fields=["department", "status", "due_date", "deleted_at", "id"], name="task_dept_status_due_idx"
            ),
            # The staff dashboard's tasks created / completed per day (30 days).
            models.Index(fields=["created_at"], name="task_created_idx"),
            models.Index(fields=["completed_at"], condition=models.Q(completed_at__isnull=False),
                         name="task_completed_idx"),
        ]

    def __str__(self):
        return self.title


class TaskStatusHistory(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=Task.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Task.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "task status history"

    def __str__(self):
        return f"{self.from_status or '(new)'} -> {self.to_status}"


class TaskAssignment(models.Model):
    """Audit row: who put whom on (or took whom off) a task, and when."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        DELEGATED = "delegated", "Delegated"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task_assignments_made",
    )
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.ASSIGNED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The list's order (-created_at, -id, see TaskAssignmentViewSet): a page is a short
        # walk of this index (backwards for the ascending order), no sort.
        indexes = [models.Index(fields=["-created_at", "-id"], name="taskassignment_recent_idx")]

    def __str__(self):
        return f"{self.action}: {self.assigned_to_id}"
