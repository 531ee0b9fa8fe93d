"""Sample data for `manage.py seed_demo`, one function per app, each idempotent."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

DEMO_TASKS = [
    # title, creator, assignees, priority, due in days, status to move to
    ("Prepare the Q4 roadmap", "manager", ["employee"], "high", 5, "in_progress"),
    ("Fix the login page on mobile", "manager", ["employee"], "critical", 1, "todo"),
    ("Write onboarding guide", "employee", [], "medium", 10, "todo"),
    ("Quarterly sales report", "sales.manager", ["sales.rep"], "high", 3, "todo"),
    ("Renew the office lease", "ceo", ["hr"], "low", 20, "done"),
]


def _user(users, key):
    return users[f"{key}@taskhub.local"]


def seed_tasks(users):
    from comments.services import attachment_create, comment_create
    from tasks.models import Task
    from tasks.services import task_create, task_update

    if Task.all_objects.filter(title=DEMO_TASKS[0][0]).exists():
        return
    now = timezone.now()
    for title, creator, assignees, priority, days, status in DEMO_TASKS:
        author = _user(users, creator)
        task = task_create(
            creator=author,
            title=title,
            description=f"Demo task: {title.lower()}.",
            priority=priority,
            due_date=now + timedelta(days=days),
            assignees=[_user(users, a) for a in assignees],
        )
        if status != Task.Status.TODO:
            task_update(task=task, by=author, status=status)
        worker = _user(users, assignees[0]) if assignees else author
        comment_create(task=task, author=worker, content="On it, first draft by Friday.")
    roadmap = Task.objects.get(title=DEMO_TASKS[0][0])
    attachment_create(
        task=roadmap,
        uploaded_by=_user(users, "manager"),
        file=SimpleUploadedFile("roadmap-notes.txt", b"Q4: ship task API v2, cut p95 latency.\n", "text/plain"),
    )


EVERYONE_MAY = ["run_reports", "send_emails", "run_benchmarks"]
LEADERS_MAY = EVERYONE_MAY + ["run_maintenance"]


def grant_task_api_permissions(users):
    """So a newcomer can try the example jobs from Swagger UI straight away."""
    from django.contrib.auth.models import Permission

    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="task_api")}
    for user in users.values():
        codenames = LEADERS_MAY if user.role == user.Role.CEO else EVERYONE_MAY
        user.user_permissions.add(*(perms[c] for c in codenames))


SEEDERS = [seed_tasks, grant_task_api_permissions]
