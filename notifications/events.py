"""What the notifications app announces, for the apps above it to act on.

Sent with `sender=Notification` inside the writing transaction, right after the rows are
stored; a receiver that raises rolls them (and the change that caused them) back.
"""

from django.dispatch import Signal

# notifications: the Notification rows just stored by one write (a list, possibly of many users).
notifications_created = Signal()
