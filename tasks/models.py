import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Upper


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
    # What `?search=` reads on PostgreSQL (tasks.selectors.task_search_q): title and description
    # in upper case, stored, under one trigram index (migration 0008) instead of an index per
    # column and an UPPER() per row tested. A searched word never holds a space, so it cannot
    # match across the one joining the two.
    search_document = models.GeneratedField(
        expression=Upper(Concat("title", models.Value(" "), "description", output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )
    # Creator and assigner are not indexed alone: task_creator_dept_idx and
    # task_assigned_by_dept_idx lead with them.
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_tasks", db_index=False
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_tasks", through="TaskAssignee"
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
            # A person's tasks as creator or assigner, with the department: a manager's tasks
            # outside their departments (tasks.selectors.ManagerCountParts) are found in these
            # alone, not among all they assigned in their own department.
            models.Index(fields=["creator", "department"], name="task_creator_dept_idx"),
            models.Index(fields=["assigned_by", "department"], name="task_assigned_by_dept_idx"),
        ]

    def __str__(self):
        return self.title


class TaskAssignee(models.Model):
    """A person on a task: a row of the `assignees` relation (its table, tasks_task_assignees).

    It carries copies of its task's status, due date, liveness and department, so a person's
    task counts (task_stats) read this table's index alone instead of one task row per assignment. The
    copies are written by the database (triggers of tasks.task_copies), never by Django: every
    write path (save(), update(), bulk_update(), the expiry statement, raw SQL) keeps them right.
    """

    # Not indexed alone: the unique (task, user) leads with the task, task_assignee_user_stats_idx
    # with the user.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    task_status = models.CharField(max_length=16, choices=Task.Status.choices, default="", editable=False)
    task_due_date = models.DateTimeField(null=True, editable=False)
    task_live = models.BooleanField(default=True, editable=False)
    # Not a constraint, as TaskAssignment's copy: the task's own department is the one checked.
    task_department = models.ForeignKey(
        "accounts.Department", null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+", editable=False,
    )

    class Meta:
        db_table = "tasks_task_assignees"
        unique_together = [("task", "user")]
        indexes = [
            # A person's live tasks by status and due date (task_stats: counts from the index
            # alone), all their task ids (who sees what, `?assignee=`), and those outside a
            # manager's departments (tasks.selectors._tasks_involving_outside), by the department
            # it holds (PostgreSQL; SQLite ignores INCLUDE).
            models.Index(
                fields=["user", "task_live", "task_status", "task_due_date", "task"],
                name="task_assignee_user_stats_idx", include=["task_department"],
            ),
        ]

    def __str__(self):
        return f"{self.user_id} on {self.task_id}"


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
    # Copies of the task's department and liveness, written by the database (the triggers of
    # tasks.task_copies, as TaskAssignee's): who sees a record is decided on the record itself,
    # without reading its task. Not a constraint: the task's own department is the one checked.
    task_department = models.ForeignKey(
        "accounts.Department", null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+", editable=False,
    )
    task_live = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The list's order (-created_at, -id, see TaskAssignmentViewSet): a page is a short
            # walk of this index (backwards for the ascending order), no sort. On PostgreSQL it
            # holds every listed column: the walk tests who sees a record on the index entry and
            # reads no table row, so the few records of one person are found in a few pages.
            models.Index(
                fields=["-created_at", "-id"], name="taskassignment_recent_idx",
                include=["task", "assigned_to", "assigned_by", "action", "task_department", "task_live"],
            ),
            # A manager's department counted from the index alone (the bounded count's first part).
            models.Index(fields=["task_department"], condition=models.Q(task_live=True),
                         name="taskassignment_live_dept_idx"),
        ]

    def __str__(self):
        return f"{self.action}: {self.assigned_to_id}"
