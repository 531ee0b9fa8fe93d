"""Creates (or resets) the demo organisation: one user per role, departments, and sample work."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Department, User

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


class Command(BaseCommand):
    help = "Create demo users for every role (printing their credentials) and sample data. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
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
        for hook in self.extra_seeders():
            hook(users)
        self.stdout.write(self.style.SUCCESS(f"Demo users (password for all: {DEMO_PASSWORD})"))
        for email, _, role, dept_name, is_admin in DEMO_USERS:
            extra = " + Django admin" if is_admin else ""
            self.stdout.write(f"  {role:<9} {email:<30} {dept_name or '':<12}{extra}")

    def extra_seeders(self):
        from core.demo import SEEDERS

        return SEEDERS
