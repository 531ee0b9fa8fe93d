"""What the tasks app announces after a write, for the apps above it to act on.

Each signal is sent with `sender=Task` inside the writing service's transaction, after its
rows are written, so a receiver's writes commit or roll back with the change itself. A
receiver that raises aborts the write.
"""

from django.dispatch import Signal

# task, actor: a new task exists.
task_created = Signal()

# task, actor, changed_fields: the names from UPDATED_FIELDS a user sees as changed, worked
# out once by the service (never derived columns such as completed_at or priority_rank).
task_updated = Signal()

# task, actor, users: users newly put on the task (those already on it are not repeated).
task_assigned = Signal()

# task_titles {task_id: title}: the tasks the expiry job has just failed.
tasks_expired = Signal()

# due_dates {task_id: (title, due_date)}: the tasks whose due-date reminder is due now.
tasks_due_soon = Signal()

# What `task_updated` may name: the task's editable fields, its status and its assignees.
UPDATED_FIELDS = frozenset(
    {"title", "description", "status", "priority", "department", "due_date", "estimate_hours", "assignees"}
)
