"""The default email backend: one INFO log line per email (recipients and subject), the
whole message only at DEBUG.

Django's console backend prints every message to stdout, which a Celery worker turns into
one WARNING line per line of the message; set EMAIL_BACKEND to SMTP to really send.
"""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class ConsoleEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            logger.info("Email to %s: %s", ", ".join(recipients), message.subject)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s", message.message().as_bytes().decode(message.encoding or "utf-8"))
            sent += 1
        return sent
