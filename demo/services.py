"""The demo organisation for `manage.py seed_demo`: one user per role, departments and sample work."""

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from attachments.services import attachment_create
from comments.services import comment_create
from tasks.models import Task
from tasks.services import task_create, task_update

DEMO_PASSWORD = "taskhub-demo-2026"
DEMO_USERS = [
    # email, name, role, department, is_staff/superuser
    ("admin@taskhub.local", "Ada Admin", User.Role.CEO, None, True),
    ("ceo@taskhub.local", "Cleo Chief", User.Role.CEO, None, False),
    ("hr@taskhub.local", "Harper Hr", User.Role.HR, None, False),
    ("manager@taskhub.local", "Max Manager", User.Role.MANAGER, "Engineering", False),
    ("employee@taskhub.local", "Emma Employee", User.Role.EMPLOYEE, "Engineering", False),
    ("sales.manager@taskhub.local", "Sam Sales", User.Role.MANAGER, "Sales", False),
    ("sales.rep@taskhub.local", "Riley Rep", User.Role.EMPLOYEE, "Sales", False),
]
DEMO_TASKS = [
    # title, creator, assignees, priority, due in days, status to move to
    ("Prepare the Q4 roadmap", "manager", ["employee"], "high", 5, "in_progress"),
    ("Fix the login page on mobile", "manager", ["employee"], "critical", 1, "todo"),
    ("Write onboarding guide", "employee", [], "medium", 10, "todo"),
    ("Quarterly sales report", "sales.manager", ["sales.rep"], "high", 3, "todo"),
    ("Renew the office lease", "ceo", ["hr"], "low", 20, "done"),
]
EVERYONE_MAY = ["run_reports", "send_emails", "run_benchmarks"]
LEADERS_MAY = EVERYONE_MAY + ["run_maintenance"]


def _user(users: dict[str, User], key: str) -> User:
    return users[f"{key}@taskhub.local"]


def demo_users_seed() -> dict[str, User]:
    """Create or reset the demo users (password included); returns them by email."""
    users = {}
    for email, name, role, dept_name, is_admin in DEMO_USERS:
        department = Department.objects.get_or_create(name=dept_name)[0] if dept_name else None
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "name": name,
                "role": role,
                "department": department,
                "is_active": True,
                "is_staff": is_admin,
                "is_superuser": is_admin,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        users[email] = user
        if role == User.Role.MANAGER and department.manager_id != user.id:
            department.manager = user
            department.save(update_fields=["manager"])
    return users


def demo_tasks_seed(*, users: dict[str, User]) -> None:
    """Sample tasks with a comment each and one attachment; skipped once they exist."""
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


def demo_task_api_permissions_grant(*, users: dict[str, User]) -> None:
    """So a newcomer can try the example jobs from Swagger UI straight away."""
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="task_api")}
    for user in users.values():
        codenames = LEADERS_MAY if user.role == User.Role.CEO else EVERYONE_MAY
        user.user_permissions.add(*(perms[c] for c in codenames))


@transaction.atomic
def demo_seed() -> dict[str, User]:
    """Idempotent: running it again resets the users and adds no second copy of the sample work."""
    users = demo_users_seed()
    demo_tasks_seed(users=users)
    demo_task_api_permissions_grant(users=users)
    return users
