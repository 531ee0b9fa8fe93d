from django.contrib.admin.sites import site

from accounts.models import User
from task_api.models import TaskExecution, TaskSchedule
from task_api.tests.factories import TaskExecutionFactory

URL = "/admin/task_api/taskexecution/"
Status = TaskExecution.Status


def staff_client(client):
    admin = User.objects.create_superuser(email="admin@example.com", password="x", name="Admin")
    client.force_login(admin)
    return client


def test_executions_and_schedules_are_under_task_api(db):
    assert TaskExecution in site._registry and TaskSchedule in site._registry
    assert TaskExecution._meta.app_config.verbose_name == "Task API"


def test_changelist_filters_by_status_and_task_name(db, client):
    TaskExecutionFactory(status=Status.FAILURE, task_name="tasks.reports.tasks_summary_report")
    TaskExecutionFactory(status=Status.SUCCESS)
    client = staff_client(client)

    response = client.get(URL, {"status__exact": "FAILURE", "task_name": "tasks.reports.tasks_summary_report"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_cancel_action_revokes_only_waiting_executions(db, client):
    waiting = TaskExecutionFactory(status=Status.SCHEDULED)
    done = TaskExecutionFactory(status=Status.SUCCESS)
    client = staff_client(client)

    response = client.post(URL, {"action": "cancel_executions", "_selected_action": [waiting.pk, done.pk]}, follow=True)

    assert response.status_code == 200
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert (waiting.status, done.status) == (Status.REVOKED, Status.SUCCESS)
    assert "Cancelled 1 execution(s)." in response.content.decode()
