"""What the tasks app announces after a write, for the apps above it to act on.

Each signal is sent with `sender=Task` inside the writing service's transaction, after its
rows are written, so a receiver's writes commit or roll back with the change itself. A
receiver that raises aborts the write.

Every per-task signal carries a list, so one write of many tasks (bulk create or update)
sends one signal and a receiver can do its work for all of them in a fixed number of queries;
a write of one task sends a list of one.
"""

from django.dispatch import Signal

# tasks, actor: new tasks exist (a list of Task).
tasks_created = Signal()

# changes, actor: a list of (task, changed_fields), where changed_fields are the names from
# UPDATED_FIELDS a user sees as changed, worked out once by the service (never derived
# columns such as completed_at or priority_rank). Tasks that did not change are not listed.
tasks_updated = Signal()

# assignments, actor: a list of (task, users): users newly put on each task (those already on
# it are not repeated; tasks that gained nobody are not listed).
tasks_assigned = Signal()

# task_titles {task_id: title}: the tasks the expiry job has just failed.
tasks_expired = Signal()

# due_dates {task_id: (title, due_date)}: the tasks whose due-date reminder is due now.
tasks_due_soon = Signal()

# What `task_updated` may name: the task's editable fields, its status and its assignees.
UPDATED_FIELDS = frozenset(
    {"title", "description", "status", "priority", "department", "due_date", "estimate_hours", "assignees"}
)
