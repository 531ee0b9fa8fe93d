"""Replays of the reported attacks on sign-in and account control, through HTTP.

1. spoofed X-Forwarded-For around the failed-login throttle; unthrottled admin and
   browsable-API logins; 4. HR taking over the accounts above it; 5. deactivation that
   revoked nothing for good; 6. unthrottled successful registrations.
"""

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from accounts.services import api_key_create, user_api_token
from accounts.tests.factories import PASSWORD, UserFactory
from core.throttling import client_ip

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh/"
REGISTER = "/api/v1/auth/register/"
ME = "/api/v1/auth/me/"
ADMIN_LOGIN = "/admin/login/"
BROWSABLE_LOGIN = "/api-auth/login/"
STRONG = "Corr3ct-horse-battery"


@pytest.fixture
def auth_rate(settings):
    """auth_rate("3/min") sets THROTTLE_AUTH_RATE for the test."""

    def set_rate(rate):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": rate},
        }

    return set_rate


def api_login(email, password=PASSWORD, *, ip="192.0.2.10", xff=None):
    extra = {"REMOTE_ADDR": ip}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", **extra)


def form_login(url, email, password=PASSWORD, *, ip="192.0.2.10"):
    client = Client()
    response = client.post(url, {"username": email, "password": password}, REMOTE_ADDR=ip)
    return client, response


def logged_in(client):
    return "_auth_user_id" in client.session


# 1. Failed-login throttle: the client IP, every surface, per account ------------------------


def test_rotating_x_forwarded_for_does_not_escape_the_failed_login_throttle(auth_rate):
    auth_rate("10/min")
    UserFactory(email="victim@example.com")

    codes = [
        api_login("victim@example.com", "wrong", xff=f"203.0.113.{i}").status_code for i in range(25)
    ]

    assert codes[:10] == [401] * 10
    assert codes[10:] == [429] * 15


def test_trusted_proxy_count_takes_the_address_the_proxy_appended(auth_rate, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    auth_rate("2/min")
    UserFactory(email="victim@example.com")
    proxy = "10.0.0.1"

    # The client forges the left part; our proxy appends the address it really saw.
    attacker = [
        api_login("victim@example.com", "wrong", ip=proxy, xff=f"203.0.113.{i}, 198.51.100.7").status_code
        for i in range(3)
    ]
    other_client = api_login("victim@example.com", "wrong", ip=proxy, xff="198.51.100.8")

    assert attacker == [401, 401, 429]
    assert other_client.status_code == 401


@pytest.mark.parametrize(
    "trusted, forwarded, expected",
    [
        (0, "203.0.113.9", "192.0.2.10"),
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),
        (2, "203.0.113.9, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "198.51.100.7"),
        (1, "not-an-address", "192.0.2.10"),
        (1, "", "192.0.2.10"),
    ],
)
def test_client_ip_believes_x_forwarded_for_only_through_trusted_proxies(settings, rf, trusted, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = rf.get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_failures_for_one_account_from_many_ips_lock_that_account(auth_rate):
    auth_rate("2/min")  # per account: 3 x 2 = 6 failures, whatever the IPs
    UserFactory(email="victim@example.com")
    UserFactory(email="colleague@example.com")

    spread = [api_login("victim@example.com", "wrong", ip=f"198.51.100.{i}").status_code for i in range(7)]
    right_password_elsewhere = api_login("victim@example.com", ip="203.0.113.200")

    assert spread == [401] * 6 + [429]
    assert right_password_elsewhere.status_code == 429
    assert 0 < int(right_password_elsewhere.headers["Retry-After"]) <= 60
    assert api_login("colleague@example.com", ip="198.51.100.1").status_code == 200


def test_wrong_password_and_unknown_email_answer_the_same_401():
    UserFactory(email="u@example.com")

    wrong = api_login("u@example.com", "wrong")
    unknown = api_login("nobody@example.com", "wrong")

    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid email or password."})
    assert (unknown.status_code, unknown.json()) == (401, {"detail": "Invalid email or password."})


@pytest.mark.parametrize("missing", ["email", "password"])
def test_login_without_a_field_is_400_naming_it(missing):
    body = {"email": "u@example.com", "password": "x"}
    del body[missing]

    response = APIClient().post(LOGIN, body, format="json")

    assert response.status_code == 400
    assert missing in response.json()


@pytest.mark.parametrize("url", [ADMIN_LOGIN, BROWSABLE_LOGIN])
def test_form_login_is_throttled_and_refuses_even_the_right_password(auth_rate, url):
    auth_rate("3/min")
    UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)

    failures = [form_login(url, "admin@example.com", "wrong")[1] for _ in range(3)]
    client, right = form_login(url, "admin@example.com")

    assert all(r.status_code == 200 and b"Too many" not in r.content for r in failures)
    assert right.status_code == 200
    assert b"Too many failed login attempts" in right.content
    assert not logged_in(client)
    assert api_login("admin@example.com").status_code == 429


@pytest.mark.parametrize("url", [ADMIN_LOGIN, BROWSABLE_LOGIN])
def test_form_login_shares_the_buckets_of_api_failures(auth_rate, url):
    auth_rate("3/min")
    UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)

    api_failures = [api_login("admin@example.com", "wrong").status_code for _ in range(3)]
    client, right = form_login(url, "admin@example.com")
    _, elsewhere = form_login(url, "admin@example.com", ip="203.0.113.50")

    assert api_failures == [401] * 3
    assert b"Too many failed login attempts" in right.content and not logged_in(client)
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("url", [ADMIN_LOGIN, BROWSABLE_LOGIN])
def test_form_login_failures_from_many_ips_lock_the_account(auth_rate, url):
    auth_rate("2/min")
    UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)

    for i in range(6):
        form_login(url, "admin@example.com", "wrong", ip=f"198.51.100.{i}")
    client, right = form_login(url, "admin@example.com", ip="203.0.113.77")

    assert b"Too many failed login attempts" in right.content and not logged_in(client)


def test_browsable_api_login_and_logout_still_work():
    UserFactory(email="u@example.com")

    page = Client().get(BROWSABLE_LOGIN)
    client, response = form_login(BROWSABLE_LOGIN, "u@example.com")
    was_logged_in = logged_in(client)
    browsable = client.get("/api/v1/auth/me/", HTTP_ACCEPT="text/html")
    logout = client.post("/api-auth/logout/")

    assert page.status_code == 200 and b'name="password"' in page.content
    assert response.status_code == 302 and was_logged_in
    assert browsable.status_code == 200 and b"/api-auth/logout/" in browsable.content
    assert logout.status_code in (200, 302)
    assert not logged_in(client)


def test_throttle_counts_live_in_the_shared_cache_not_locmem(auth_rate):
    from accounts.throttling import AuthFailureThrottle, LoginFailureThrottle, RegistrationThrottle
    from task_api.views import ExecuteView

    auth_rate("10/min")
    api_login("nobody@example.com", "wrong", ip="192.0.2.99")

    assert not django_settings.CACHES["shared"]["BACKEND"].endswith("LocMemCache")
    for throttle in (AuthFailureThrottle, LoginFailureThrottle, RegistrationThrottle, *ExecuteView.throttle_classes):
        assert throttle().cache is caches["shared"]
    assert caches["shared"].get("throttle_auth-ip_192.0.2.99")


# 6. Registration is throttled per IP, successes included -----------------------------------


def register(i, ip="192.0.2.20"):
    body = {"email": f"new{i}@example.com", "name": "New", "password": STRONG, "password2": STRONG}
    return APIClient().post(REGISTER, body, format="json", REMOTE_ADDR=ip)


def test_successful_registrations_are_throttled_per_ip():
    codes = [register(i).status_code for i in range(6)]
    sixth = register(99)
    elsewhere = register(100, ip="192.0.2.21")

    assert codes[:5] == [201] * 5 and codes[5] == 429
    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["Retry-After"]) <= 3600
    assert elsewhere.status_code == 201
    assert User.objects.count() == 6


def test_registration_throttle_ignores_spoofed_forwarded_for():
    codes = [
        APIClient().post(
            REGISTER,
            {"email": f"n{i}@example.com", "name": "N", "password": STRONG, "password2": STRONG},
            format="json",
            REMOTE_ADDR="192.0.2.30",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        ).status_code
        for i in range(8)
    ]

    assert codes == [201] * 5 + [429] * 3


def test_registration_rate_is_a_setting(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "2/hour"},
    }

    assert [register(i).status_code for i in range(3)] == [201, 201, 429]


# 4. Account control: HR cannot touch the accounts that hold power ---------------------------


@pytest.fixture
def powerful(people):
    return {
        "superuser": UserFactory(email="root@example.com", is_staff=True, is_superuser=True),
        "staff": UserFactory(email="staff@example.com", is_staff=True, role=User.Role.MANAGER),
        "ceo": people["ceo"],
    }


def snapshot(user):
    user.refresh_from_db()
    return (user.email, user.role, user.department_id, user.is_active, user.is_staff, user.is_superuser)


CHANGES = [
    {"role": "employee"},
    {"email": "taken-over@example.com"},
    {"is_active": False},
    {"department": "dept_a"},
    {"name": "Renamed"},
]


def _body(change, people):
    return {k: people[v].id if v == "dept_a" else v for k, v in change.items()}


@pytest.mark.parametrize("target", ["superuser", "staff", "ceo"])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: next(iter(c)))
def test_hr_cannot_change_a_superuser_staff_or_ceo(people, powerful, client_for, target, change):
    victim = powerful[target]
    before = snapshot(victim)

    response = client_for(people["hr"]).patch(f"/api/v1/users/{victim.id}/", _body(change, people), format="json")

    assert response.status_code == 403
    assert "CEO" in response.json()["detail"]
    assert snapshot(victim) == before


@pytest.mark.parametrize("target", ["superuser", "staff", "ceo"])
def test_hr_cannot_deactivate_a_superuser_staff_or_ceo(people, powerful, client_for, target):
    victim = powerful[target]

    response = client_for(people["hr"]).delete(f"/api/v1/users/{victim.id}/")

    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.is_active


def test_staff_who_is_neither_ceo_nor_superuser_is_bound_like_hr(people, powerful, client_for):
    response = client_for(powerful["staff"]).patch(
        f"/api/v1/users/{people['ceo'].id}/", {"is_active": False}, format="json"
    )

    assert response.status_code == 403
    people["ceo"].refresh_from_db()
    assert people["ceo"].is_active


@pytest.mark.parametrize(
    "actor, target",
    [("ceo", "superuser"), ("ceo", "staff"), ("superuser", "staff"), ("superuser", "ceo")],
)
def test_ceo_and_superuser_may_change_those_accounts(people, powerful, client_for, actor, target):
    victim = powerful[target]

    changed = client_for(powerful[actor]).patch(
        f"/api/v1/users/{victim.id}/", {"department": people["dept_b"].id, "name": "Moved"}, format="json"
    )
    deactivated = client_for(powerful[actor]).delete(f"/api/v1/users/{victim.id}/")

    victim.refresh_from_db()
    assert (changed.status_code, deactivated.status_code) == (200, 204)
    assert (victim.department_id, victim.name, victim.is_active) == (people["dept_b"].id, "Moved", False)


def test_hr_cannot_promote_itself_or_anyone_to_ceo(people, client_for):
    hr = client_for(people["hr"])

    itself = hr.patch(f"/api/v1/users/{people['hr'].id}/", {"role": "ceo"}, format="json")
    other = hr.patch(f"/api/v1/users/{people['outsider'].id}/", {"role": "ceo"}, format="json")
    hired = hr.post(
        "/api/v1/users/", {"email": "boss@example.com", "name": "Boss", "role": "ceo"}, format="json"
    )

    assert (itself.status_code, other.status_code, hired.status_code) == (403, 403, 403)
    assert "CEO role" in itself.json()["detail"]
    assert not User.objects.filter(role=User.Role.CEO).exclude(pk=people["ceo"].pk).exists()
    assert not User.objects.filter(email="boss@example.com").exists()


def test_hr_cannot_grant_staff_but_a_ceo_can(people, client_for):
    target = people["outsider"]

    by_hr = client_for(people["hr"]).patch(f"/api/v1/users/{target.id}/", {"is_staff": True}, format="json")
    target.refresh_from_db()
    staff_after_hr = target.is_staff
    by_ceo = client_for(people["ceo"]).patch(f"/api/v1/users/{target.id}/", {"is_staff": True}, format="json")
    target.refresh_from_db()

    assert by_hr.status_code == 403 and "staff" in by_hr.json()["detail"]
    assert staff_after_hr is False
    assert by_ceo.status_code == 200 and by_ceo.json()["is_staff"] is True
    assert target.is_staff is True


def test_ceo_may_grant_the_ceo_role(people, client_for):
    response = client_for(people["ceo"]).patch(
        f"/api/v1/users/{people['hr'].id}/", {"role": "ceo"}, format="json"
    )

    people["hr"].refresh_from_db()
    assert response.status_code == 200 and people["hr"].role == "ceo"


def test_hr_still_manages_ordinary_people_and_its_own_name(people, client_for):
    hr = client_for(people["hr"])

    promoted = hr.patch(f"/api/v1/users/{people['outsider'].id}/", {"role": "manager"}, format="json")
    renamed = hr.patch(f"/api/v1/users/{people['hr'].id}/", {"name": "HR Lead"}, format="json")
    deactivated = hr.delete(f"/api/v1/users/{people['assignee'].id}/")

    assert (promoted.status_code, renamed.status_code, deactivated.status_code) == (200, 200, 204)


def test_hr_staff_in_the_admin_cannot_change_the_superuser(powerful):
    from django.contrib.auth.models import Permission

    hr = UserFactory(email="hr-staff@example.com", role=User.Role.HR, is_staff=True)
    hr.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"]))
    root = powerful["superuser"]
    client = Client()
    client.force_login(hr)

    change = client.post(
        f"/admin/accounts/user/{root.id}/change/",
        {"email": "hr-owns-it@example.com", "name": "Root", "role": "employee", "is_active": ""},
    )
    delete = client.post(f"/admin/accounts/user/{root.id}/delete/", {"post": "yes"})
    add_form = client.get("/admin/accounts/user/add/")

    root.refresh_from_db()
    assert change.status_code == 403 and delete.status_code == 403
    assert (root.email, root.is_active) == ("root@example.com", True)
    assert b'value="ceo"' not in add_form.content


# 5. Deactivation revokes every credential for good ------------------------------------------


def _credentials(user):
    tokens = api_login(user.email).json()
    rotated = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    return {
        "refresh": rotated["refresh"],
        "token": user_api_token(user=user),
        "api_key": api_key_create(user=user, name="svc")[1],
    }


def _works(credentials):
    token_client, key_client = APIClient(), APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {credentials['token']}")
    key_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {credentials['api_key']}")
    return {
        "token": token_client.get(ME).status_code,
        "api_key": key_client.get(ME).status_code,
    }


@pytest.mark.parametrize("how", ["patch", "delete"])
def test_deactivation_revokes_refresh_tokens_token_and_api_keys_for_good(people, client_for, settings, how):
    settings.AUTH_CACHE_SECONDS = 60  # the credential cache must forget them too
    victim = people["assignee"]
    creds = _credentials(victim)
    assert _works(creds) == {"token": 200, "api_key": 200}
    hr = client_for(people["hr"])

    if how == "patch":
        response = hr.patch(f"/api/v1/users/{victim.id}/", {"is_active": False}, format="json")
    else:
        response = hr.delete(f"/api/v1/users/{victim.id}/")
    at_once = _works(creds)
    reactivated = hr.patch(f"/api/v1/users/{victim.id}/", {"is_active": True}, format="json")
    refresh = APIClient().post(REFRESH, {"refresh": creds["refresh"]}, format="json")

    assert response.status_code in (200, 204) and reactivated.status_code == 200
    assert at_once == {"token": 401, "api_key": 401}
    assert _works(creds) == {"token": 401, "api_key": 401}
    assert refresh.status_code == 401
    assert not ApiKey.objects.filter(user=victim).exists()
    assert api_login(victim.email).status_code == 200


def test_deactivation_in_the_admin_revokes_too(powerful):
    victim = UserFactory(email="leaver@example.com")
    creds = _credentials(victim)
    client = Client()
    client.force_login(powerful["superuser"])

    response = client.post(
        f"/admin/accounts/user/{victim.id}/change/",
        {"email": victim.email, "name": victim.name, "role": "employee", "department": ""},
    )
    victim.refresh_from_db()
    victim.is_active = True
    victim.save()

    assert response.status_code == 302
    assert _works(creds) == {"token": 401, "api_key": 401}
    assert APIClient().post(REFRESH, {"refresh": creds["refresh"]}, format="json").status_code == 401


def test_a_deleted_users_refresh_token_is_401_not_500():
    user = UserFactory(email="gone@example.com")
    refresh = api_login(user.email).json()["refresh"]
    user.delete()

    response = APIClient().post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401
