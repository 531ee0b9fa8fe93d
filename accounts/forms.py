"""Login forms of the admin and the browsable API (guarded like the API login), and the reset page's form."""

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


class ResetPasswordForm(forms.Form):
    """The reset page's form; the strength rules are the service's (Django's validators)."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    new_password1 = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label="New password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", "The two passwords differ.")
        return data
