"""An email backend that records every message it is handed in `chaos_emails` (bench/chaos.py).

It stands for the mail server: a row is a delivery, committed at once, so a message sent
twice is two rows. Notification emails carry `Message-ID: <notification-<id>@host>`
(notifications.outbox), the idempotency key the bench's ledger reads.
"""

import os
import re

from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

NOTIFICATION_ID = re.compile(r"<notification-(\d+)@")


class LedgerEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        with connection.cursor() as cursor:
            for message in email_messages:
                message_id = message.extra_headers.get("Message-ID", "")
                match = NOTIFICATION_ID.match(message_id)
                cursor.execute(
                    "INSERT INTO chaos_emails (notification_id, message_id, recipient, pid) VALUES (%s, %s, %s, %s)",
                    [int(match.group(1)) if match else None, message_id, ",".join(message.to), os.getpid()],
                )
        return len(email_messages)
