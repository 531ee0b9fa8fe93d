from django.contrib.auth import views as auth_views
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import pages, views
from .forms import GuardedAuthenticationForm

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
    path("auth/api-token/", views.ApiTokenView.as_view(), name="auth-api-token"),
    path("auth/password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    *router.urls,
]

# The browsable API's login and logout (rest_framework.urls, under the namespace its templates
# use), with the login form guarded like the API login.
browsable_api_urls = (
    [
        path(
            "login/",
            auth_views.LoginView.as_view(
                template_name="rest_framework/login.html", authentication_form=GuardedAuthenticationForm
            ),
            name="login",
        ),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

# The pages the links in account emails open (server-rendered, outside the API).
page_urls = [
    path("verify-email/", pages.VerifyEmailPage.as_view(), name="verify-email-page"),
    path("reset-password/", pages.ResetPasswordPage.as_view(), name="reset-password-page"),
]
