from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first; serialising them needs no join."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
