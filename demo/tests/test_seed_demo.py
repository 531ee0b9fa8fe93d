import pytest
from django.core.management import call_command

from accounts.models import User
from attachments.models import Attachment
from comments.models import Comment
from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_every_role_and_living_data_and_is_idempotent(api_client, capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert set(User.objects.values_list("role", flat=True)) == {"ceo", "hr", "manager", "employee"}
    assert "taskhub-demo-2026" in out and "manager@taskhub.local" in out
    assert Task.objects.count() == 5 and Comment.objects.count() == 5 and Attachment.objects.count() == 1
    login = api_client.post(
        "/api/v1/auth/login/", {"email": "employee@taskhub.local", "password": "taskhub-demo-2026"}, format="json"
    )
    assert login.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert api_client.get("/api/v1/tasks/").json()["count"] >= 3
    runnable = {t["task_name"] for t in api_client.get("/api/v1/task-api/available/").json()}
    assert {"tasks.reports.tasks_summary_report", "task_api.tasks.add"} <= runnable
