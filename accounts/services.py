import secrets
import string
from datetime import datetime
from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from task_api.registry import registry as task_registry

from . import tokens
from .authentication import KEY_PREFIX
from .models import ApiKey, Department, User
from .tasks import send_password_reset_email_task, send_verification_email_task

_PREFIX_ALPHABET = string.ascii_letters + string.digits


@transaction.atomic
def user_create(
    *,
    email: str,
    name: str,
    password: str | None,
    role: str = User.Role.EMPLOYEE,
    department: Department | None = None,
) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    user = User(email=email, name=name, role=role, department=department)
    # The serializers ran Django's password validators; None makes an unusable password.
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, **fields) -> User:
    email = fields.get("email")
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    if email and email.lower() != user.email:
        # A new address is unproven until its own link is followed.
        fields["email_verified"] = False
    for name, value in fields.items():
        setattr(user, name, value.lower() if name == "email" else value)
    user.save(update_fields=list(fields) or None)
    if fields.get("is_active") is False:
        user_revoke_credentials(user=user)
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_revoke_credentials(user=user)
    return user


@transaction.atomic
def user_revoke_credentials(*, user: User) -> None:
    """Every credential the user holds stops working for good: refresh tokens are blacklisted,
    the DRF token and the API keys deleted, so reactivating the account restores none of them.

    Every path that deactivates a user calls this (API PATCH and DELETE, the admin). The
    deletes go through the ORM so `accounts.signals` drops the cached credentials too.
    """
    user_sign_out_everywhere(user=user)
    ApiKey.objects.filter(user=user).delete()


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> None:
    """Every refresh token of the user is blacklisted and the DRF token deleted (API keys stay).

    Access tokens already out stay valid until they expire (JWT_ACCESS_MINUTES).
    """
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    Token.objects.filter(user=user).delete()


def _set_new_password(*, user: User, new_password: str) -> None:
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Set a new password and end every session of the user; returns the user as saved.

    Read again, locked: a user from the credential cache carries no password hash.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise ValidationError({"old_password": "The current password is wrong."})
    _set_new_password(user=user, new_password=new_password)
    user.save(update_fields=["password"])
    user_sign_out_everywhere(user=user)
    return user


def user_password_reset_request(*, email: str) -> None:
    """Mail a reset link to the active account with this address, if there is one.

    Says nothing about whether there was: the caller answers the same either way.
    """
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).only("pk").first()
    if user is not None:
        transaction.on_commit(partial(send_password_reset_email_task.delay, user.pk), robust=True)


@transaction.atomic
def user_password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set the password of the user the (unused, unexpired) reset token names; every session ends.

    The row is locked while the token is checked, so two uses of one token cannot both pass.
    Following the emailed link proved the address, so it counts as verified too.
    """
    user = tokens.password_reset_user(token, for_update=True)
    if user is None:
        raise ValidationError({"token": "This password reset link is invalid, used or expired."})
    _set_new_password(user=user, new_password=new_password)
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    user_sign_out_everywhere(user=user)
    return user


def user_email_verification_send(*, user: User) -> None:
    transaction.on_commit(partial(send_verification_email_task.delay, user.pk), robust=True)


@transaction.atomic
def user_verify_email(*, token: str) -> User:
    """Mark the address the token was mailed to as verified (again is fine)."""
    claim = tokens.email_verification_claim(token)
    user = (
        User.objects.select_for_update()
        .filter(external_id=claim["user"], email=claim["email"], is_active=True)
        .first()
        if claim
        else None
    )
    if user is None:
        raise ValidationError({"token": "This verification link is invalid or expired."})
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user


def department_create(*, name: str, manager: User | None = None) -> Department:
    return Department.objects.create(name=name, manager=manager)


def department_update(*, department: Department, **fields) -> Department:
    for name, value in fields.items():
        setattr(department, name, value)
    department.save(update_fields=list(fields) or None)
    return department


def department_delete(*, department: Department) -> None:
    """People of the department keep their accounts, with no department (SET_NULL)."""
    department.delete()


def user_issue_jwt(*, user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@transaction.atomic
def user_logout(*, user: User, refresh: str | None = None) -> None:
    """Ends the session of a client: the refresh token it sent (if any) and the user's DRF token."""
    if refresh is None:
        Token.objects.filter(user=user).delete()
        return
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise ValidationError({"refresh": str(exc)}) from exc
    if str(token.get("user_id")) != str(user.pk):
        raise ValidationError({"refresh": "This refresh token belongs to another user."})
    token.blacklist()
    Token.objects.filter(user=user).delete()


def user_api_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def _new_key_material() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(ApiKey.PREFIX_LENGTH))
    return prefix, f"{KEY_PREFIX}{prefix}.{secrets.token_urlsafe(32)}"


def _set_new_key(api_key: ApiKey) -> str:
    prefix, raw_key = _new_key_material()
    api_key.prefix = prefix
    api_key.hashed_key = ApiKey.hash(raw_key)
    return raw_key


def _check_allowed_tasks(allowed_tasks: list[str]) -> list[str]:
    unknown = [name for name in allowed_tasks if name not in task_registry]
    if unknown:
        raise ValidationError({"allowed_tasks": f"No registered task is named: {', '.join(unknown)}."})
    return list(dict.fromkeys(allowed_tasks))


def _canonical_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in ApiKey.Scope.values if scope in scopes]


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    allowed_tasks: list[str] | None = None,
) -> tuple[ApiKey, str]:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Must be in the future."})
    api_key = ApiKey(
        user=user,
        name=name,
        expires_at=expires_at,
        scopes=_canonical_scopes(scopes if scopes is not None else ApiKey.Scope.values),
        allowed_tasks=_check_allowed_tasks(allowed_tasks or []),
    )
    raw_key = _set_new_key(api_key)
    api_key.save()
    return api_key, raw_key


@transaction.atomic
def api_key_update(
    *,
    api_key: ApiKey,
    name: str | None = None,
    scopes: list[str] | None = None,
    allowed_tasks: list[str] | None = None,
) -> ApiKey:
    """Rename a key or change what it may do; saving drops it from the credential cache
    (accounts.signals), so the next request sees the new scopes."""
    fields = []
    if name is not None:
        api_key.name = name
        fields.append("name")
    if scopes is not None:
        api_key.scopes = _canonical_scopes(scopes)
        fields.append("scopes")
    if allowed_tasks is not None:
        api_key.allowed_tasks = _check_allowed_tasks(allowed_tasks)
        fields.append("allowed_tasks")
    if fields:
        api_key.save(update_fields=fields)
    return api_key


@transaction.atomic
def api_key_regenerate(*, api_key: ApiKey) -> str:
    """Replace the secret; the old key stops working with this commit."""
    raw_key = _set_new_key(api_key)
    api_key.last_used_at = None
    api_key.save(update_fields=["prefix", "hashed_key", "last_used_at"])
    return raw_key
