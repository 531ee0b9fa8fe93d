"""Login forms of the admin and the browsable API, guarded like the API login."""

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .throttling import login_failed, login_wait


class LoginGuardMixin:
    """Refuses the attempt while the client or the account is throttled, even with the right
    password (else a guesser would learn it by the answer), and counts each failure in the
    windows the API login uses."""

    def clean(self):
        email = self.cleaned_data.get("username")
        if self.request is not None and email:
            wait = login_wait(self.request, email)
            if wait is not None:
                raise forms.ValidationError(
                    "Too many failed login attempts. Try again in %(seconds)d seconds.",
                    code="throttled",
                    params={"seconds": max(1, math.ceil(wait))},
                )
        try:
            return super().clean()
        except forms.ValidationError:
            if self.request is not None and email:
                login_failed(self.request, email)
            raise


class GuardedAuthenticationForm(LoginGuardMixin, AuthenticationForm):
    pass


class GuardedAdminAuthenticationForm(LoginGuardMixin, AdminAuthenticationForm):
    pass
