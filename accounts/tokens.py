"""The one-time tokens mailed to users (password reset, email verification) and their links."""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.urls import reverse

from .models import User

VERIFICATION_SALT = "accounts.verify-email"


class _PasswordResetTokens(PasswordResetTokenGenerator):
    # Its own salt: a token of Django's stock reset views (none are routed) is no token here.
    key_salt = "accounts.tokens.password-reset"


_reset_tokens = _PasswordResetTokens()


def password_reset_token(user: User) -> str:
    """`<external_id hex>-<Django reset token>`: the confirm needs nothing but the token.

    Django's token hashes the password and last login, so it stops working once the password
    is set (or the user signs in); it expires after PASSWORD_RESET_TIMEOUT (PASSWORD_RESET_HOURS).
    """
    return f"{user.external_id.hex}-{_reset_tokens.make_token(user)}"


def password_reset_user(token: str, *, for_update: bool = False) -> User | None:
    """The active user the token was made for, if it is still valid; else None."""
    uid, _, user_token = str(token).partition("-")
    try:
        external_id = uuid.UUID(hex=uid)
    except ValueError:
        return None
    users = User.objects.select_for_update() if for_update else User.objects
    user = users.filter(external_id=external_id, is_active=True).first()
    if user is None or not _reset_tokens.check_token(user, user_token):
        return None
    return user


def email_verification_token(user: User) -> str:
    # The address is signed too: a link mailed to an old address never verifies a new one.
    return signing.dumps({"user": str(user.external_id), "email": user.email}, salt=VERIFICATION_SALT)


def email_verification_claim(token: str) -> dict | None:
    """The signed `{user, email}` of a verification token younger than EMAIL_VERIFICATION_HOURS."""
    try:
        claim = signing.loads(str(token), salt=VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_HOURS * 3600)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return claim if isinstance(claim, dict) and {"user", "email"} <= set(claim) else None


def site_link(url_name: str, **query) -> str:
    """An absolute link to one of this site's pages (accounts.pages), as mailed to users."""
    return f"{settings.SITE_URL.rstrip('/')}{reverse(url_name)}?{urlencode(query)}"


def email_verification_link(user: User) -> str:
    return site_link("verify-email-page", token=email_verification_token(user))


def password_reset_link(user: User) -> str:
    return site_link("reset-password-page", token=password_reset_token(user))
