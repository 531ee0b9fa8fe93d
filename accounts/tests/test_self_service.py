"""Account self-service through HTTP: password change, reset and confirm, email verification,
and the pages the emailed links open."""

import html
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import User
from accounts.services import api_key_create, user_api_token
from accounts.tasks import send_password_reset_email_task
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW = "Fresh-n3w-passphrase"
SITE = "https://taskhub.example.com:8443"


@pytest.fixture(autouse=True)
def _site_and_eager_celery(settings):
    settings.SITE_URL = SITE
    # Tasks enqueued on commit run in the test, as a worker would run them.
    conf = send_password_reset_email_task.app.conf
    before = {name: conf[name] for name in ("task_always_eager", "task_eager_propagates")}
    conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    conf.update(before)


def throttle_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def login(email, password=PASSWORD):
    return APIClient().post(reverse("auth-login"), {"email": email, "password": password}, format="json")


def refresh(token):
    return APIClient().post(reverse("auth-refresh"), {"refresh": token}, format="json")


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def change(client, old=PASSWORD, new=NEW):
    return client.post(reverse("auth-password-change"), {"old_password": old, "new_password": new}, format="json")


@pytest.fixture
def ask_reset(django_capture_on_commit_callbacks):
    """ask_reset(email[, client]) -> the answer; the reset email (if any) is sent by then."""

    def ask(email, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or APIClient()).post(reverse("auth-password-reset"), {"email": email}, format="json")

    return ask


def confirm(token, new=NEW):
    return APIClient().post(
        reverse("auth-password-reset-confirm"), {"token": token, "new_password": new}, format="json"
    )


def link_in(email) -> str:
    [link] = re.findall(r"https?://\S+", email.body)
    return link


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def hidden_token(page) -> str:
    """What a browser posts back: the token field of the page's form."""
    return html.unescape(re.search(r'name="token" value="([^"]*)"', page.content.decode()).group(1))


def follow(client, link, data=None):
    """Open an emailed link on this site with Django's test client (GET, or POST the form)."""
    assert link.startswith(SITE + "/")
    parts = urlsplit(link)
    if data is None:
        return client.get(f"{parts.path}?{parts.query}")
    return client.post(parts.path, data)


# Password change -------------------------------------------------------------------------


def test_change_sets_the_password_and_answers_a_working_pair_while_other_sessions_end():
    user = UserFactory(email="u@example.com")
    this_device = login("u@example.com").json()
    other_device = login("u@example.com").json()
    drf_token = user_api_token(user=user)

    response = change(bearer(this_device["access"]))

    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    assert bearer(pair["access"]).get(reverse("auth-me")).status_code == 200
    assert refresh(pair["refresh"]).status_code == 200
    assert refresh(this_device["refresh"]).status_code == 401
    assert refresh(other_device["refresh"]).status_code == 401
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {drf_token}")
    assert token_client.get(reverse("auth-me")).status_code == 401
    assert login("u@example.com").status_code == 401
    assert login("u@example.com", NEW).status_code == 200


def test_change_with_a_wrong_old_password_is_400_naming_it():
    UserFactory(email="u@example.com")
    tokens_ = login("u@example.com").json()

    response = change(bearer(tokens_["access"]), old="not-my-password")

    assert response.status_code == 400
    assert "old_password" in response.json()
    assert login("u@example.com").status_code == 200
    assert refresh(tokens_["refresh"]).status_code == 200


@pytest.mark.parametrize("weak", ["123", "password", "12345678901", "u@example.com"])
def test_change_to_a_weak_password_is_400_naming_new_password(weak):
    UserFactory(email="u@example.com")
    access = login("u@example.com").json()["access"]

    response = change(bearer(access), new=weak)

    assert response.status_code == 400
    assert "new_password" in response.json()
    assert login("u@example.com").status_code == 200


@pytest.mark.parametrize(
    "scheme, expected",
    [("jwt", 200), ("token", 200), ("session", 200), ("api_key", 403), ("x_api_key", 403), ("anonymous", 401)],
)
def test_who_may_change_the_password(scheme, expected):
    user = UserFactory(email="u@example.com")
    client = APIClient()
    if scheme == "jwt":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {login('u@example.com').json()['access']}")
    elif scheme == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {user_api_token(user=user)}")
    elif scheme == "session":
        assert client.login(email="u@example.com", password=PASSWORD)
    elif scheme == "api_key":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='svc')[1]}")
    elif scheme == "x_api_key":
        client.credentials(HTTP_X_API_KEY=api_key_create(user=user, name="svc")[1])

    response = change(client)

    assert response.status_code == expected
    user.refresh_from_db()
    assert user.check_password(NEW) is (expected == 200)
    if scheme == "session":
        # The browser that changed it stays signed in (its session hash follows the password).
        assert client.get(reverse("auth-me")).status_code == 200


def test_wrong_old_passwords_are_throttled_with_the_login_windows(settings):
    throttle_rates(settings, auth="3/min")
    UserFactory(email="u@example.com")
    client = bearer(login("u@example.com").json()["access"])

    codes = [change(client, old="guess").status_code for _ in range(3)]
    right_one = change(client)

    assert codes == [400, 400, 400]
    assert right_one.status_code == 429
    assert int(right_one.headers["Retry-After"]) > 0
    assert login("u@example.com").status_code == 429


# Password reset -------------------------------------------------------------------------


def test_reset_answers_the_same_for_known_unknown_and_inactive_addresses(mailoutbox, ask_reset):
    UserFactory(email="known@example.com", name="Known")
    UserFactory(email="gone@example.com", is_active=False)

    known = ask_reset("KNOWN@example.com")
    unknown = ask_reset("nobody@example.com")
    inactive = ask_reset("gone@example.com")

    assert {known.status_code, unknown.status_code, inactive.status_code} == {202}
    assert known.json() == unknown.json() == inactive.json()
    [email] = mailoutbox
    assert email.to == ["known@example.com"]
    assert link_in(email).startswith(f"{SITE}/reset-password/?token=")
    assert "2 hours" in email.body


def test_the_emailed_link_opens_a_page_that_sets_the_password_once(mailoutbox, ask_reset):
    user = UserFactory(email="u@example.com")
    before = login("u@example.com").json()
    ask_reset("u@example.com")
    link = link_in(mailoutbox[0])
    browser = Client()

    page = follow(browser, link)
    form = {"token": hidden_token(page), "new_password1": NEW, "new_password2": NEW}
    done = follow(browser, link, form)
    again = follow(browser, link, form)

    assert page.status_code == 200 and b'name="new_password1"' in page.content
    assert done.status_code == 200 and b"Your password has been set" in done.content
    assert again.status_code == 400 and b"invalid, used or expired" in again.content
    assert follow(browser, link).status_code == 400
    assert login("u@example.com", NEW).status_code == 200
    assert refresh(before["refresh"]).status_code == 401
    user.refresh_from_db()
    assert user.email_verified is True


def test_the_reset_page_shows_password_errors_and_keeps_the_token_usable(mailoutbox, ask_reset):
    UserFactory(email="u@example.com")
    ask_reset("u@example.com")
    link = link_in(mailoutbox[0])
    token = token_of(link)

    mismatch = follow(Client(), link, {"token": token, "new_password1": NEW, "new_password2": NEW + "x"})
    weak = follow(Client(), link, {"token": token, "new_password1": "123", "new_password2": "123"})

    assert mismatch.status_code == 400 and b"The two passwords differ" in mismatch.content
    assert weak.status_code == 400 and b"too short" in weak.content
    assert confirm(token).status_code == 200


def test_confirm_sets_the_password_ends_every_session_and_the_token_stops_working(mailoutbox, ask_reset):
    user = UserFactory(email="u@example.com")
    before = login("u@example.com").json()
    drf_token = user_api_token(user=user)
    api_key = api_key_create(user=user, name="svc")[1]
    ask_reset("u@example.com")
    token = token_of(link_in(mailoutbox[0]))

    response = confirm(token)
    reuse = confirm(token, new="Another-g00d-passphrase")

    assert response.status_code == 200 and "detail" in response.json()
    assert reuse.status_code == 400 and "token" in reuse.json()
    assert login("u@example.com", NEW).status_code == 200
    assert refresh(before["refresh"]).status_code == 401
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {drf_token}")
    assert token_client.get(reverse("auth-me")).status_code == 401
    key_client = APIClient()
    key_client.credentials(HTTP_X_API_KEY=api_key)
    assert key_client.get(reverse("auth-me")).status_code == 200  # keys are for services: they stay


def test_a_reset_token_expires_after_password_reset_hours(settings, monkeypatch):
    settings.PASSWORD_RESET_HOURS = 2
    settings.PASSWORD_RESET_TIMEOUT = 2 * 3600
    token = tokens.password_reset_token(UserFactory(email="u@example.com"))
    later = datetime.now() + timedelta(hours=2, minutes=1)
    monkeypatch.setattr(tokens._PasswordResetTokens, "_now", lambda self: later)

    response = confirm(token)

    assert response.status_code == 400 and "token" in response.json()
    assert login("u@example.com").status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
        lambda t: UserFactory().external_id.hex + t[32:],
        lambda t: t[33:],
        lambda t: "",
        lambda t: "not-a-token",
    ],
    ids=["hash", "other-user", "no-uid", "empty", "garbage"],
)
def test_a_tampered_reset_token_is_400(tamper):
    token = tokens.password_reset_token(UserFactory(email="u@example.com"))

    response = confirm(tamper(token))

    assert response.status_code == 400
    assert set(response.json()) == {"token"}
    assert login("u@example.com").status_code == 200


def test_confirm_with_a_weak_password_is_400_naming_new_password():
    token = tokens.password_reset_token(UserFactory(email="u@example.com"))

    response = confirm(token, new="123")

    assert response.status_code == 400 and "new_password" in response.json()
    assert confirm(token).status_code == 200


def test_reset_requests_are_throttled_per_address_and_per_ip(settings, mailoutbox, ask_reset):
    throttle_rates(settings, password_reset="2/hour")
    UserFactory(email="u@example.com")

    same_address = [ask_reset("u@example.com") for _ in range(3)]
    # Per IP: 5x the rate, whichever addresses are asked for.
    others = [ask_reset(f"x{i}@example.com").status_code for i in range(8)]
    over_ip = ask_reset("y@example.com")
    from_elsewhere = ask_reset("z@example.com", APIClient(REMOTE_ADDR="10.9.9.9"))

    assert [r.status_code for r in same_address] == [202, 202, 429]
    assert int(same_address[2].headers["Retry-After"]) > 0
    assert len(mailoutbox) == 2
    assert others == [202] * 8
    assert over_ip.status_code == 429
    assert from_elsewhere.status_code == 202


def test_bad_tokens_are_throttled_per_client(settings):
    throttle_rates(settings, auth="3/min")
    token = tokens.password_reset_token(UserFactory(email="u@example.com"))

    codes = [confirm("bad-token").status_code for _ in range(2)]
    codes.append(APIClient().post(reverse("auth-verify-email"), {"token": "bad"}, format="json").status_code)
    good_token = confirm(token)

    assert codes == [400, 400, 400]
    assert good_token.status_code == 429 and "Retry-After" in good_token.headers
    assert login("u@example.com").status_code == 200


def test_reset_with_a_bad_email_is_400():
    response = APIClient().post(reverse("auth-password-reset"), {"email": "not-an-email"}, format="json")

    assert response.status_code == 400 and "email" in response.json()


# Email verification ---------------------------------------------------------------------


def register(email="new@example.com"):
    strong = "Corr3ct-horse-battery"
    body = {"email": email, "name": "New Person", "password": strong, "password2": strong}
    return APIClient().post(reverse("auth-register"), body, format="json")


def test_registering_mails_a_link_whose_page_verifies_the_address_on_post_only(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        access = register().json()["access"]
    [email] = mailoutbox
    link = link_in(email)
    browser = Client()

    assert link.startswith(f"{SITE}/verify-email/?token=")
    page = follow(browser, link)
    assert page.status_code == 200 and b"Verify my email address" in page.content
    assert bearer(access).get(reverse("auth-me")).json()["email_verified"] is False  # GET changed nothing

    done = follow(browser, link, {"token": hidden_token(page)})

    assert done.status_code == 200 and b"is verified" in done.content
    assert bearer(access).get(reverse("auth-me")).json()["email_verified"] is True


def test_verify_email_api_marks_the_address_verified():
    user = UserFactory(email="u@example.com")

    response = APIClient().post(
        reverse("auth-verify-email"), {"token": tokens.email_verification_token(user)}, format="json"
    )

    assert response.status_code == 200 and "detail" in response.json()
    user.refresh_from_db()
    assert user.email_verified is True


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_verify_email_with_a_bad_token_is_400(token):
    response = APIClient().post(reverse("auth-verify-email"), {"token": token}, format="json")

    assert response.status_code == 400 and "token" in response.json()


def test_a_verification_token_expires(settings, monkeypatch):
    settings.EMAIL_VERIFICATION_HOURS = 72
    user = UserFactory(email="u@example.com")
    token = tokens.email_verification_token(user)
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 73 * 3600))

    response = APIClient().post(reverse("auth-verify-email"), {"token": token}, format="json")
    page = Client().get(reverse("verify-email-page"), {"token": token})

    assert response.status_code == 400 and "token" in response.json()
    assert page.status_code == 400
    user.refresh_from_db()
    assert user.email_verified is False


def test_a_new_address_is_unverified_and_an_old_link_cannot_verify_it(client_for):
    user = UserFactory(email="old@example.com", email_verified=True)
    old_token = tokens.email_verification_token(user)
    hr = UserFactory(role=User.Role.HR)

    patched = client_for(hr).patch(reverse("user-detail", args=[user.pk]), {"email": "new@example.com"}, format="json")
    response = APIClient().post(reverse("auth-verify-email"), {"token": old_token}, format="json")

    assert patched.status_code == 200 and patched.json()["email_verified"] is False
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email_verified is False


def test_email_verified_is_read_only(client_for):
    user = UserFactory()
    ceo = UserFactory(role=User.Role.CEO)

    response = client_for(ceo).patch(reverse("user-detail", args=[user.pk]), {"email_verified": True}, format="json")

    assert response.status_code == 200 and response.json()["email_verified"] is False
    user.refresh_from_db()
    assert user.email_verified is False


# SITE_URL ---------------------------------------------------------------------------------


def test_site_url_follows_taskhub_port_when_unset():
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    code = "from django.conf import settings; print(settings.SITE_URL)"

    def site_url(**extra):
        return subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", **extra},
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()

    assert site_url(TASKHUB_PORT="8123") == "http://127.0.0.1:8123"
    assert site_url(SITE_URL="https://tasks.example.com", TASKHUB_PORT="8123") == "https://tasks.example.com"
