"""Creates (or resets) the demo organisation: one user per role, departments, and sample work."""

from django.core.management.base import BaseCommand

from demo.services import DEMO_PASSWORD, DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = "Create demo users for every role (printing their credentials) and sample data. Idempotent."

    def handle(self, *args, **options):
        demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Demo users (password for all: {DEMO_PASSWORD})"))
        for email, _, role, dept_name, is_admin in DEMO_USERS:
            extra = " + Django admin" if is_admin else ""
            self.stdout.write(f"  {role:<9} {email:<30} {dept_name or '':<12}{extra}")
