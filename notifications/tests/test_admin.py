import pytest

from accounts.tests.factories import UserFactory
from notifications.models import Notification

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "query", ["", "?kind=expired", "?read=no", "?read=yes", "?email_status=failed", "?q=report"]
)
def test_the_changelist_filters_and_searches(admin_client_, query):
    NotificationFactory(kind="expired", message="The weekly report expired")

    response = admin_client_.get(f"/admin/notifications/notification/{query}")

    assert response.status_code == 200


def test_send_again_requeues_failed_emails(admin_client_, monkeypatch, django_capture_on_commit_callbacks):
    from notifications.tasks import send_notification_email_task

    published = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **kw: published.append(args[0]))
    failed = NotificationFactory(email_status="failed", email_error="SMTPServerDisconnected")
    sent = NotificationFactory(email_status="sent")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(
            "/admin/notifications/notification/",
            {"action": "send_email_again", "_selected_action": [failed.id, sent.id]},
        )

    assert published == [failed.id]
    assert Notification.objects.get(id=sent.id).email_status == "sent"


OUTBOX_URL = "/admin/notifications/emailoutbox/"


@pytest.mark.parametrize("url", ["/admin/notifications/notification/", OUTBOX_URL])
@pytest.mark.parametrize("rows", [3, 30])
def test_lists_show_badges_in_fixed_queries(admin_client_, url, rows, django_assert_max_num_queries):
    NotificationFactory.create_batch(rows, email_status="failed", email_error="SMTPServerDisconnected")

    with django_assert_max_num_queries(8):
        response = admin_client_.get(url)

    assert response.context["cl"].result_count == rows
    assert response.content.decode().count('class="th-badge th-bad">Failed<') == rows


def test_the_outbox_resends_through_the_outbox_service(admin_client_, monkeypatch, django_capture_on_commit_callbacks):
    from notifications.tasks import send_notification_email_task

    published = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **kw: published.append(args[0]))
    stuck = NotificationFactory(email_status="sending")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(OUTBOX_URL, {"action": "send_email_again", "_selected_action": [stuck.id]},
                                      follow=True)

    assert published == [stuck.id]
    assert "1 email(s) queued again." in response.content.decode()


@pytest.mark.parametrize("persona", ["anonymous", "employee", "staff_without_permission"])
def test_only_staff_with_the_change_permission_resend(client, persona, monkeypatch):
    from notifications.tasks import send_notification_email_task

    published = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **kw: published.append(args[0]))
    failed = NotificationFactory(email_status="failed")
    if persona != "anonymous":
        client.force_login(UserFactory(is_staff=persona == "staff_without_permission"))

    response = client.post(OUTBOX_URL, {"action": "send_email_again", "_selected_action": [failed.id]})

    assert response.status_code == (403 if persona == "staff_without_permission" else 302)
    assert Notification.objects.get(id=failed.id).email_status == "failed" and published == []
