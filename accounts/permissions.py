from rest_framework import permissions

from .authentication import is_api_key_request


class DenyApiKey(permissions.BasePermission):
    """API keys act for their owner but never manage keys or change the account."""

    message = "API keys cannot manage API keys or change the account."

    def has_permission(self, request, view):
        return not is_api_key_request(request)


class IsPeopleAdminOrReadOnly(permissions.BasePermission):
    """Reads for everyone signed in; writes for CEO, HR and staff."""

    message = "Only CEO, HR or staff may change this."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.is_people_admin


class UserObjectPermission(permissions.BasePermission):
    """People admins change anyone; a user may PATCH only their own `name`, never with a key."""

    SELF_EDITABLE = {"name"}

    def has_permission(self, request, view):
        if view.action == "create":
            return request.user.is_people_admin
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        is_self = obj.pk == request.user.pk
        if is_self and is_api_key_request(request):
            self.message = DenyApiKey.message
            return False
        if request.user.is_people_admin:
            return True
        if is_self and request.method == "PATCH":
            forbidden = sorted(set(request.data) - self.SELF_EDITABLE)
            if forbidden:
                self.message = f"You may change only your name, not: {', '.join(forbidden)}."
                return False
            return True
        self.message = "Only CEO, HR or staff may change other users."
        return False
