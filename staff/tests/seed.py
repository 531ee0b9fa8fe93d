"""Seed a dashboard's worth of data: tasks over 30 days, executions over 48 hours, stuck rows.

Used by the dashboard tests and, through `manage.py shell -c`, by the browser tests (which
seed the database of the gunicorn they start).
"""

import random
from datetime import timedelta

from django.utils import timezone

from accounts.models import Department, User
from notifications.models import Notification
from task_api.models import TaskExecution
from tasks.models import Task

ADMIN_EMAIL = "staff.admin@example.com"
ADMIN_PASSWORD = "Dashboard-pass-2026"

TaskStatus = TaskExecution.Status
TASK_STATUSES = [Task.Status.TODO, Task.Status.IN_PROGRESS, Task.Status.DONE, Task.Status.FAILED]
EXEC_STATUSES = [TaskStatus.SUCCESS] * 6 + [TaskStatus.FAILURE, TaskStatus.REVOKED, TaskStatus.SCHEDULED]
TASK_NAMES = ["task_api.tasks.add", "tasks.reports.tasks_summary_report", "accounts.tasks.send_verification_email"]


def seed(n: int = 60, *, seed_value: int = 7, now=None) -> dict:
    """n tasks and n executions (plus three stuck rows); returns the objects tests look at."""
    rng = random.Random(seed_value)
    now = now or timezone.now()
    admin = User.objects.filter(email=ADMIN_EMAIL).first() or User.objects.create_superuser(
        email=ADMIN_EMAIL, password=ADMIN_PASSWORD, name="Staff Admin"
    )
    departments = [Department.objects.get_or_create(name=name)[0] for name in ("Engineering", "Sales", "Support")]
    people = [
        User.objects.get_or_create(email=f"person{i}@example.com", defaults={"name": f"Person {i}",
                                                                             "department": departments[i % 3]})[0]
        for i in range(6)
    ]
    tasks = []
    for i in range(n):
        status = TASK_STATUSES[i % len(TASK_STATUSES)]
        # Within the dashboard's 30-day window at any time of day: at most 28 days 23 hours ago.
        created = now - timedelta(days=rng.randrange(0, 29), hours=rng.randrange(0, 24))
        task = Task(
            title=f"Seeded task {i} with a title long enough to need wrapping in a narrow column",
            status=status,
            priority=rng.choice(list(Task.Priority.values)),
            creator=people[i % len(people)],
            department=departments[i % 3] if i % 7 else None,
            due_date=now + timedelta(days=rng.randrange(-5, 10)),
            completed_at=(
                min(now, created + timedelta(hours=rng.randrange(1, 72))) if status == Task.Status.DONE else None
            ),
        )
        tasks.append(task)
    tasks = Task.objects.bulk_create(tasks)
    for task in tasks:
        task.created_at = now - timedelta(days=rng.randrange(0, 29), hours=rng.randrange(0, 12))
    Task.objects.bulk_update(tasks, ["created_at"])
    Task.assignees.through.objects.bulk_create(
        Task.assignees.through(task_id=task.id, user_id=people[(i + 1) % len(people)].id)
        for i, task in enumerate(tasks)
    )

    executions = []
    for i in range(n):
        status = EXEC_STATUSES[i % len(EXEC_STATUSES)]
        created = now - timedelta(hours=rng.randrange(0, 48), minutes=rng.randrange(0, 60))
        started = created + timedelta(seconds=1) if status in (TaskStatus.SUCCESS, TaskStatus.FAILURE) else None
        executions.append(TaskExecution(
            user=people[i % len(people)],
            task_name=TASK_NAMES[i % len(TASK_NAMES)],
            args=[i, 1],
            status=status,
            created_at=created,
            dispatched_at=None if status == TaskStatus.SCHEDULED else created,
            scheduled_at=now + timedelta(days=1) if status == TaskStatus.SCHEDULED else None,
            started_at=started,
            completed_at=started + timedelta(milliseconds=200 + 37 * (i % 50)) if started else None,
            error="ValueError: seeded failure" if status == TaskStatus.FAILURE else None,
        ))
    # One running now, with progress; and the two stuck ones.
    executions.append(TaskExecution(
        user=admin, task_name=TASK_NAMES[1], status=TaskStatus.PROGRESS, progress={"percent": 60, "message": "halfway"},
        created_at=now - timedelta(minutes=2), started_at=now - timedelta(minutes=2),
        run_deadline=now + timedelta(minutes=5),
    ))
    lost = TaskExecution(user=admin, task_name=TASK_NAMES[0], args=[1, 2], status=TaskStatus.STARTED,
                         created_at=now - timedelta(hours=2), started_at=now - timedelta(hours=2),
                         run_deadline=now - timedelta(hours=1))
    never_taken = TaskExecution(user=admin, task_name=TASK_NAMES[0], args=[3, 4], status=TaskStatus.PENDING,
                                created_at=now - timedelta(hours=1), dispatched_at=now - timedelta(minutes=1))
    executions += [lost, never_taken]
    TaskExecution.objects.bulk_create(executions)

    stuck_email = Notification.objects.create(
        recipient=people[0], kind=Notification.Kind.ASSIGNED, task=tasks[0], message="You were assigned.",
    )
    Notification.objects.filter(pk=stuck_email.pk).update(created_at=now - timedelta(hours=3))
    Notification.objects.bulk_create([
        Notification(recipient=people[i % len(people)], kind=Notification.Kind.UPDATED, task=tasks[i % len(tasks)],
                     message=f"Task {i} was updated with a message long enough to be cut in the list.",
                     email_status=Notification.EmailStatus.SENT, email_sent_at=now)
        for i in range(min(n, 30))
    ])
    return {"admin": admin, "lost": lost, "never_taken": never_taken, "stuck_email": stuck_email, "tasks": tasks}

