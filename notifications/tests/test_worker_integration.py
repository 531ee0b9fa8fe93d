"""End to end with real processes: a Celery worker and beat on Redis, the test database on PostgreSQL."""

import re
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from conftest import wait_for
from core.beat import beat_schedule_sync
from notifications.models import Notification
from notifications.tasks import send_notification_email_task
from tasks.models import Task, TaskStatusHistory

pytestmark = pytest.mark.services


def fast_schedule(*names):
    """The migration's beat entries (a transactional test before may have flushed them),
    with `names` ticking every second so the test does not wait a minute."""
    beat_schedule_sync()
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    for task in PeriodicTask.objects.filter(name__in=names):
        task.interval = every_second
        task.save()


def file_mail_env(tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
    return mail_dir, env


def mails_to(mail_dir, address):
    """The messages the file backend wrote for one recipient (one file per connection)."""
    text = "".join(path.read_text() for path in mail_dir.glob("*.log"))
    return [m for m in re.split(r"\n-{79}\n", text) if re.search(rf"^To: {re.escape(address)}$", m, re.M)]


@contextmanager
def broker_unreachable():
    """Point this process's Celery publisher at a closed port, then back."""
    from config.celery import app

    def reconnect(url):
        app.conf.broker_url = url
        # Pools were built for the old URL; the next publish builds new ones.
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url
    reconnect("redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        reconnect(saved)


def test_worker_and_beat_fail_an_overdue_task_notify_and_email_the_creator(
    celery_process, people, client_for, tmp_path
):
    fast_schedule("tasks.expire_overdue")
    mail_dir, env = file_mail_env(tmp_path)
    due = timezone.now() + timedelta(seconds=2)
    response = client_for(people["creator"]).post(
        "/api/v1/tasks/",
        {"title": "Renew the certificate", "due_date": due.isoformat(), "assignees": [people["assignee"].id]},
        format="json",
    )
    assert response.status_code == 201, response.content
    task_id = response.json()["id"]

    celery_process("worker", env=env)
    celery_process("beat")

    wait_for(lambda: Task.objects.get(id=task_id).status == Task.Status.FAILED, 60, 0.2, "the task to fail")
    wait_for(
        lambda: Notification.objects.filter(task_id=task_id, kind="expired", recipient=people["creator"]).exists(),
        10, 0.2, "the creator's notification",
    )
    # The creator also got the `created` email of their own task (seed 004).
    mail = wait_for(
        lambda: [m for m in mails_to(mail_dir, "creator@example.com") if "Subject: [Taskhub] Task expired" in m],
        60, 0.2, "the creator's email",
    )
    assert "Renew the certificate" in mail[0]
    assert f"/api/v1/tasks/{task_id}/" in mail[0]
    assert "Failed" in mail[0]
    assert TaskStatusHistory.objects.filter(task_id=task_id, to_status="failed", changed_by=None).count() == 1
    assert Notification.objects.filter(task_id=task_id, kind="expired").count() == 2  # creator, assignee


def test_task_creation_survives_a_broker_outage_and_the_email_goes_out_once_after(
    celery_process, people, client_for, tmp_path
):
    fast_schedule("notifications.sweep_email_outbox")
    mail_dir, env = file_mail_env(tmp_path)

    with broker_unreachable():
        started = time.monotonic()
        response = client_for(people["creator"]).post(
            "/api/v1/tasks/",
            {"title": "Order new laptops", "department": people["dept_a"].id,
             "due_date": (timezone.now() + timedelta(days=3)).isoformat()},
            format="json",
        )
        elapsed = time.monotonic() - started

    assert response.status_code == 201, response.content
    assert elapsed < 10
    note = Notification.objects.get(task_id=response.json()["id"], kind="created", recipient=people["manager"])
    assert note.recipient == people["manager"]
    assert (note.email_status, note.email_queued_at) == ("pending", None)
    # The sweeper leaves rows younger than a minute to their own on-commit publish.
    Notification.objects.filter(id=note.id).update(created_at=timezone.now() - timedelta(minutes=2))

    worker = celery_process("worker", env=env)
    celery_process("beat")

    wait_for(lambda: Notification.objects.get(id=note.id).email_status == "sent", 60, 0.2, "the email to be sent")
    # A duplicate send (a redelivered message, a sweeper race) finds the row taken.
    duplicate = send_notification_email_task.delay(note.id)
    wait_for(lambda: f"[{duplicate.id}] succeeded" in worker.log(), 30, 0.2, "the duplicate to run")
    assert len(mails_to(mail_dir, "manager@example.com")) == 1
    note.refresh_from_db()
    assert note.email_attempts == 1
    assert "Order new laptops" in mails_to(mail_dir, "manager@example.com")[0]
