import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from notifications.outbox import RETRYABLE_EMAIL_ERRORS, notification_email_send
from notifications.tasks import send_notification_email_task
from tasks.tests.factories import TaskFactory

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(people):
    task = TaskFactory(
        title="Ship the release", creator=people["creator"],
        due_date=timezone.now().replace(microsecond=0) + timedelta(days=2),
    )
    return NotificationFactory(recipient=people["assignee"], task=task, actor=people["creator"],
                               kind=Notification.Kind.ASSIGNED, message="You got a task.")


class BrokenSMTP:
    """An email backend whose server is always down."""

    calls = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_the_email_has_text_and_html_with_title_status_due_date_and_link(note, mailoutbox, settings):
    settings.SITE_URL = "https://taskhub.example.com"

    assert notification_email_send(notification_id=note.id) is True

    [email] = mailoutbox
    assert email.to == ["assignee@example.com"]
    assert "Ship the release" in email.subject
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    link = f"https://taskhub.example.com/api/v1/tasks/{note.task_id}/"
    due = note.task.due_date.strftime("%Y-%m-%d %H:%M")
    for body in (email.body, html):
        assert "Ship the release" in body
        assert "To do" in body
        assert due in body
        assert link in body
    note.refresh_from_db()
    assert note.email_status == Notification.EmailStatus.SENT
    assert note.email_sent_at is not None
    assert note.email_attempts == 1


def test_a_newline_in_the_title_does_not_break_the_subject(note, mailoutbox):
    note.task.title = "Line one\nBcc: someone@evil.example"
    note.task.save()

    notification_email_send(notification_id=note.id)

    assert "\n" not in mailoutbox[0].subject


def test_running_the_send_task_twice_sends_one_email(note, mailoutbox):
    send_notification_email_task.apply(args=(note.id,))
    second = send_notification_email_task.apply(args=(note.id,))

    assert len(mailoutbox) == 1
    assert second.get() is False


def test_a_row_claimed_by_another_run_is_not_sent(note, mailoutbox):
    Notification.objects.filter(id=note.id).update(email_status=Notification.EmailStatus.SENDING)

    assert notification_email_send(notification_id=note.id) is False
    assert mailoutbox == []


def test_the_task_retries_network_errors_three_times_five_minutes_apart():
    assert set(send_notification_email_task.autoretry_for) == set(RETRYABLE_EMAIL_ERRORS)
    assert send_notification_email_task.max_retries == 3
    assert send_notification_email_task.default_retry_delay == 300


def test_emails_travel_on_their_own_queue():
    route = send_notification_email_task.app.amqp.router.route({}, send_notification_email_task.name)

    assert route["queue"].name == "emails"


def test_a_dead_mail_server_is_tried_four_times_then_marked_failed(note, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenSMTP"
    BrokenSMTP.calls = 0

    # Eager apply runs the retries at once instead of 5 minutes apart.
    result = send_notification_email_task.apply(args=(note.id,))

    assert result.failed()
    assert BrokenSMTP.calls == 4
    note.refresh_from_db()
    assert note.email_status == Notification.EmailStatus.FAILED
    assert note.email_attempts == 4
    assert "SMTPServerDisconnected" in note.email_error


def test_a_failed_attempt_before_the_last_hands_the_row_back_for_the_retry(note, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenSMTP"

    with pytest.raises(smtplib.SMTPException):
        notification_email_send(notification_id=note.id, final_attempt=False)

    note.refresh_from_db()
    assert note.email_status == Notification.EmailStatus.PENDING
    assert note.email_queued_at is not None
