"""Account emails as Celery tasks; the verification email is a task-API job too."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail

from task_api.decorators import api_task, as_id, call_arguments

from .models import User
from .tokens import email_verification_link, password_reset_link

EMAIL_ERRORS = (SMTPException, ConnectionError, TimeoutError)


def _may_email(user: User, args: list, kwargs: dict) -> bool:
    """One's own address only; CEO, HR and superusers may send it to anyone."""
    if user.is_superuser or user.role in (User.Role.CEO, User.Role.HR):
        return True
    user_id = call_arguments(send_verification_email_task, args, kwargs)["user_id"]
    if as_id(user_id) != user.pk:
        raise PermissionDenied("You may send the verification email only to yourself (your own user id).")
    return True


@api_task(["task_api.send_emails"], "Send the account verification email to a user.", authorize=_may_email)
@shared_task(
    name="accounts.tasks.send_verification_email",  # part of the API: never derived from the path
    bind=True,
    autoretry_for=EMAIL_ERRORS,
    retry_backoff=60,
    max_retries=3,
    time_limit=60,
    soft_time_limit=45,
)
def send_verification_email_task(self, user_id: int, verification_url: str = "") -> bool:
    user = User.objects.get(pk=user_id, is_active=True)
    # Only links into this site: the API must not become a way to mail arbitrary URLs to users.
    site = settings.SITE_URL.rstrip("/") + "/"
    if verification_url and not verification_url.startswith(site):
        raise ValueError(f"verification_url must start with {site}")
    link = verification_url or email_verification_link(user)
    send_mail(
        subject="Verify your Taskhub email address",
        message=(
            f"Hello {user.name},\n\nConfirm your email address by opening:\n{link}\n\n"
            f"The link works for {settings.EMAIL_VERIFICATION_HOURS} hours.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return True


@shared_task(
    name="accounts.tasks.send_password_reset_email",  # pinned: queued messages name it
    autoretry_for=EMAIL_ERRORS,
    retry_backoff=60,
    max_retries=3,
    time_limit=60,
    soft_time_limit=45,
)
def send_password_reset_email_task(user_id: int) -> bool:
    """Not a task-API job: only `auth/password/reset/` may mail a reset link.

    The token is made here, at send time, so it never travels through the broker.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    hours = settings.PASSWORD_RESET_HOURS
    send_mail(
        subject="Reset your Taskhub password",
        message=(
            f"Hello {user.name},\n\nSomeone (we hope you) asked to reset the password of your Taskhub "
            f"account. Choose a new one here within {hours} hour{'s' if hours != 1 else ''}:\n"
            f"{password_reset_link(user)}\n\nThe link works once. If you did not ask for it, ignore "
            "this email: your password stays as it is.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return True
