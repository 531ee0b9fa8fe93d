import pytest
from kombu.exceptions import OperationalError

from notifications.tasks import send_notification_email_task


@pytest.fixture
def published(monkeypatch):
    """Notification ids handed to the broker; nothing really leaves the test process."""
    ids = []
    monkeypatch.setattr(
        send_notification_email_task, "apply_async", lambda args, **options: ids.append(args[0])
    )
    return ids


@pytest.fixture
def broker_refuses(monkeypatch):
    def refuse(args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(send_notification_email_task, "apply_async", refuse)
