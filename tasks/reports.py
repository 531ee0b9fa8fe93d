"""Report tasks over the tasks data, runnable through the task API."""

from celery import shared_task
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Department, User
from task_api.decorators import api_task, as_id, call_arguments, report_progress

from .models import Task
from .selectors import overdue_q


def _may_report_on(user: User, args: list, kwargs: dict) -> bool:
    """CEO, HR and staff: anything. Others: their own department, or one they are the designated
    manager of; never the whole organisation."""
    if user.sees_everything or user.is_superuser:
        return True
    department_id = call_arguments(tasks_summary_report_task, args, kwargs)["department_id"]
    if department_id is None:
        raise PermissionDenied("Only CEO, HR and staff may report on the whole organisation; give a department_id.")
    department_id = as_id(department_id)
    if department_id is not None and (
        department_id == user.department_id or Department.objects.filter(pk=department_id, manager=user).exists()
    ):
        return True
    raise PermissionDenied("You may report only on your own department (or one you manage).")


@api_task(
    ["task_api.run_reports"],
    "Summarise tasks by status and priority, per department, with overdue counts; reports progress.",
    authorize=_may_report_on,
)
# The name is part of the API: never derived from the module path or the function name.
@shared_task(name="tasks.reports.tasks_summary_report", bind=True, time_limit=300, soft_time_limit=270)
def tasks_summary_report_task(self, department_id: int | None = None, *, include_departments: bool = True) -> dict:
    tasks = Task.objects.all()
    if department_id is not None:
        if not Department.objects.filter(pk=department_id).exists():
            raise ValueError(f"Department {department_id} does not exist")
        tasks = tasks.filter(department_id=department_id)
    now = timezone.now()
    summary = {"generated_at": now.isoformat(), "department_id": department_id}

    report_progress(self, 10, "Counting tasks by status")
    summary["total"] = tasks.count()
    summary["by_status"] = dict(tasks.values_list("status").annotate(n=Count("id")).order_by())

    report_progress(self, 40, "Counting tasks by priority")
    summary["by_priority"] = dict(tasks.values_list("priority").annotate(n=Count("id")).order_by())

    report_progress(self, 60, "Counting overdue and late tasks")
    summary["overdue"] = tasks.filter(overdue_q(now=now)).count()
    summary["completed_late"] = tasks.filter(completed_late=True).count()

    if include_departments:
        report_progress(self, 80, "Summarising departments")
        per_department = Department.objects.annotate(
            total=Count("tasks", filter=Q(tasks__deleted_at__isnull=True)),
            done=Count("tasks", filter=Q(tasks__deleted_at__isnull=True, tasks__status=Task.Status.DONE)),
            failed=Count("tasks", filter=Q(tasks__deleted_at__isnull=True, tasks__status=Task.Status.FAILED)),
        ).order_by("name")
        if department_id is not None:
            per_department = per_department.filter(pk=department_id)
        summary["departments"] = [
            {"id": d.id, "name": d.name, "total": d.total, "done": d.done, "failed": d.failed} for d in per_department
        ]

    report_progress(self, 100, "Done")
    return summary
