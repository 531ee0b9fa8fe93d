from django.db.models import QuerySet

from accounts.models import User

from .models import Notification, NotificationPreference


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's own in-app notifications, newest first; serialising them needs no join.

    Rows with `in_app` off are only the outbox entries of emails: never shown.
    """
    return Notification.objects.filter(recipient=user, in_app=True).order_by("-created_at", "-id")


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def notification_preferences_for(*, user: User) -> dict[str, dict[str, bool]]:
    """{channel: {kind: on}} for every channel and every kind, in one query; unset kinds are on."""
    stored = NotificationPreference.objects.filter(user=user).values("email", "in_app").first() or {}
    return {
        channel: {kind: NotificationPreference.wants(stored.get(channel), kind) for kind in Notification.Kind.values}
        for channel in NotificationPreference.Channel.values
    }
