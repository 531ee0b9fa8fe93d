"""The HTML pages the links in account emails open: each shows a form, and only its POST,
through the same services as the API, changes anything (mail scanners follow links)."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views import View

from . import services, tokens
from .forms import ResetPasswordForm


def _token_error(exc: ValidationError) -> str | None:
    errors = exc.message_dict.get("token")
    return errors[0] if errors else None


class VerifyEmailPage(View):
    template_name = "accounts/verify_email.html"

    def get(self, request):
        token = request.GET.get("token", "")
        if tokens.email_verification_claim(token) is None:
            return self._error("This verification link is invalid or expired.")
        return render(request, self.template_name, {"token": token})

    def post(self, request):
        try:
            user = services.user_verify_email(token=request.POST.get("token", ""))
        except ValidationError as exc:
            return self._error(_token_error(exc))
        return render(request, self.template_name, {"verified": True, "user": user})

    def _error(self, message):
        return render(self.request, self.template_name, {"error": message}, status=400)


class ResetPasswordPage(View):
    template_name = "accounts/reset_password.html"
    invalid = "This password reset link is invalid, used or expired."

    def get(self, request):
        token = request.GET.get("token", "")
        if tokens.password_reset_user(token) is None:
            return render(request, self.template_name, {"error": self.invalid}, status=400)
        return render(request, self.template_name, {"form": ResetPasswordForm(initial={"token": token})})

    def post(self, request):
        form = ResetPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.user_password_reset_confirm(
                    token=form.cleaned_data["token"], new_password=form.cleaned_data["new_password1"]
                )
            except ValidationError as exc:
                if _token_error(exc):
                    return render(request, self.template_name, {"error": _token_error(exc)}, status=400)
                form.add_error("new_password1", exc.message_dict.get("new_password"))
            else:
                return render(request, self.template_name, {"done": True})
        return render(request, self.template_name, {"form": form}, status=400)
