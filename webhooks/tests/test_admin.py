import pytest
from django.contrib.admin.sites import site

from accounts.models import User
from webhooks.models import Webhook, WebhookDelivery

from .factories import DeliveryFactory, WebhookFactory

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def staff(client):
    admin = User.objects.create_superuser(email="admin@example.com", password="x", name="Admin")
    client.force_login(admin)
    return client


def test_webhooks_and_deliveries_are_registered():
    assert Webhook in site._registry and WebhookDelivery in site._registry


def test_lists_show_status_badges_and_never_the_secret(staff, django_assert_max_num_queries):
    webhook = WebhookFactory(is_active=False, disabled_reason="the receiver answered 410 Gone")
    for status in ("pending", "succeeded", "failed"):
        DeliveryFactory.create_batch(3, webhook=webhook, status=status)

    with django_assert_max_num_queries(8):
        deliveries = staff.get(DELIVERIES)
    webhooks = staff.get("/admin/webhooks/webhook/").content.decode()
    change = staff.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()

    assert deliveries.status_code == 200
    text = deliveries.content.decode()
    assert 'th-badge th-ok">Succeeded' in text and 'th-badge th-bad">Failed' in text
    assert 'th-badge th-wait">Pending' in text
    assert "disabled: the receiver answered 410 Gone" in webhooks
    assert webhook.secret not in webhooks + change + text


def test_redeliver_action_queues_deliveries_of_active_webhooks_again(staff, queued,
                                                                    django_capture_on_commit_callbacks):
    failed = DeliveryFactory(status="failed", attempts=6)
    of_disabled = DeliveryFactory(status="failed", webhook=WebhookFactory(is_active=False))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(DELIVERIES, {"action": "redeliver", "_selected_action": [failed.pk, of_disabled.pk]},
                              follow=True)

    assert "1 delivery(ies) queued again." in response.content.decode()
    failed.refresh_from_db()
    of_disabled.refresh_from_db()
    assert (failed.status, of_disabled.status) == ("pending", "failed")
    assert queued == [(str(failed.pk), None)]
