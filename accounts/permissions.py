from collections.abc import Mapping

from rest_framework import permissions

from .authentication import is_api_key_request
from .models import User

STAFF_FIELDS = ("is_staff", "is_superuser")


def is_people_admin(user: User) -> bool:
    """CEO, HR and staff manage users and departments: the same people who see everything."""
    return user.sees_everything


def account_change_refusal(*, actor: User, target: User | None, data: Mapping) -> str | None:
    """Why `actor` (a people admin) may not make this change, or None if they may.

    CEO, HR and staff manage people, but only a CEO or a superuser may touch the accounts that
    hold power (superusers, staff, CEOs) or hand that power out, so HR cannot take over the
    organisation by promoting itself or locking out those above it.
    """
    if actor.is_superuser or actor.role == User.Role.CEO:
        return None
    if target is not None and target.holds_power:
        return "Only a CEO or a superuser may change or deactivate a CEO, staff or superuser account."
    if data.get("role") == User.Role.CEO:
        return "Only a CEO or a superuser may grant the CEO role."
    if any(field in data for field in STAFF_FIELDS):
        return "Only a CEO or a superuser may grant staff rights."
    return None


def _body(request) -> Mapping:
    return request.data if isinstance(request.data, Mapping) else {}


class DenyApiKey(permissions.BasePermission):
    """API keys act for their owner but never manage keys or change the account."""

    message = "API keys cannot manage API keys or change the account."

    def has_permission(self, request, view):
        return not is_api_key_request(request)


class IsPeopleAdminOrReadOnly(permissions.BasePermission):
    """Reads for everyone signed in; writes for CEO, HR and staff."""

    message = "Only CEO, HR or staff may change this."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_people_admin(request.user)


class UserObjectPermission(permissions.BasePermission):
    """People admins change anyone (but see `account_change_refusal`); a user may PATCH only
    their own `name`, never with a key."""

    SELF_EDITABLE = {"name"}

    def has_permission(self, request, view):
        if view.action == "create":
            if not is_people_admin(request.user):
                return False
            return self._allowed(request, target=None)
        return True

    def _allowed(self, request, target):
        refusal = account_change_refusal(actor=request.user, target=target, data=_body(request))
        if refusal:
            self.message = refusal
        return refusal is None

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        is_self = obj.pk == request.user.pk
        if is_self and is_api_key_request(request):
            self.message = DenyApiKey.message
            return False
        if is_self and request.method == "PATCH" and set(_body(request)) <= self.SELF_EDITABLE:
            return True
        if is_people_admin(request.user):
            return self._allowed(request, target=obj)
        if is_self and request.method == "PATCH":
            forbidden = sorted(set(_body(request)) - self.SELF_EDITABLE)
            if forbidden:
                self.message = f"You may change only your name, not: {', '.join(forbidden)}."
                return False
            return True
        self.message = "Only CEO, HR or staff may change other users."
        return False
