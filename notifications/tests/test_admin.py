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
