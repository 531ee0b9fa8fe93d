import pytest
from django.contrib.admin.sites import site

from accounts.models import User
from accounts.tests.factories import UserFactory
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


def test_rerun_action_makes_linked_executions(runner, sent, client, django_capture_on_commit_callbacks):
    failed = TaskExecutionFactory(user=runner, status=Status.FAILURE, args=[4, 5])
    client = staff_client(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"action": "rerun_executions", "_selected_action": [failed.pk]}, follow=True)

    rerun = TaskExecution.objects.get(rerun_of=failed)
    assert (rerun.user, rerun.args, rerun.status) == (runner, [4, 5], Status.PENDING)
    assert [m["task_id"] for m in sent] == [rerun.celery_task_id]
    assert "Re-ran 1 execution(s)." in response.content.decode()
    # The original's page lists its re-run.
    detail = client.get(f"{URL}{failed.pk}/change/").content.decode()
    assert str(rerun.pk)[:8] in detail


def test_rerun_action_reports_what_it_refused(runner, sent, client):
    running = TaskExecutionFactory(user=runner, status=Status.STARTED)
    client = staff_client(client)

    response = client.post(URL, {"action": "rerun_executions", "_selected_action": [running.pk]}, follow=True)

    assert "1 execution(s) could not be re-run: An execution in state STARTED is still running" in (
        response.content.decode()
    )
    assert TaskExecution.objects.count() == 1


def test_mark_failed_action_ends_unfinished_executions_only(db, client):
    stuck = TaskExecutionFactory(status=Status.STARTED)
    done = TaskExecutionFactory(status=Status.SUCCESS)
    client = staff_client(client)

    response = client.post(URL, {"action": "mark_failed", "_selected_action": [stuck.pk, done.pk]}, follow=True)

    stuck.refresh_from_db()
    done.refresh_from_db()
    assert (stuck.status, done.status) == (Status.FAILURE, Status.SUCCESS)
    assert "Marked 1 execution(s) failed." in response.content.decode()


@pytest.mark.parametrize("action", ["cancel_executions", "rerun_executions", "mark_failed"])
@pytest.mark.parametrize("persona", ["anonymous", "employee", "staff_without_permission"])
def test_only_staff_with_the_change_permission_run_actions(db, client, sent, action, persona):
    execution = TaskExecutionFactory(status=Status.PENDING)
    if persona != "anonymous":
        client.force_login(UserFactory(is_staff=persona == "staff_without_permission"))

    response = client.post(URL, {"action": action, "_selected_action": [execution.pk]})

    # Not staff: the admin sends them to its login page; staff without the permission: 403.
    assert response.status_code == (403 if persona == "staff_without_permission" else 302)
    execution.refresh_from_db()
    assert execution.status == Status.PENDING and TaskExecution.objects.count() == 1


@pytest.mark.parametrize("rows", [3, 30])
def test_changelist_queries_do_not_grow_with_rows(db, client, rows, django_assert_max_num_queries):
    TaskExecutionFactory.create_batch(rows, status=Status.PROGRESS, progress={"percent": 40, "message": "x"})
    client = staff_client(client)

    with django_assert_max_num_queries(8):
        response = client.get(URL)

    html = response.content.decode()
    assert response.context["cl"].result_count == rows
    assert html.count('class="th-progress"') == rows and html.count("th-badge th-busy") == rows
