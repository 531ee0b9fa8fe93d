import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "Corr3ct-horse-battery"


def register(client, **overrides):
    body = {"email": "new@example.com", "name": "New Person", "password": STRONG, "password2": STRONG}
    return client.post(reverse("auth-register"), {**body, **overrides}, format="json")


def login(client, email, password=PASSWORD):
    return client.post(reverse("auth-login"), {"email": email, "password": password}, format="json")


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_register_returns_user_and_working_tokens(api_client):
    response = register(api_client)

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["role"] == "employee"
    me = bearer(body["access"]).get(reverse("auth-me"))
    assert me.status_code == 200 and me.json()["email"] == "new@example.com"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"password": "123", "password2": "123"}, "password"),
        ({"password": "password", "password2": "password"}, "password"),
        ({"password2": "Something-else-42"}, "password2"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_register_rejects_bad_input(api_client, overrides, field):
    response = register(api_client, **overrides)

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


def test_register_rejects_taken_email_case_insensitively(api_client):
    UserFactory(email="taken@example.com")

    response = register(api_client, email="TAKEN@example.com")

    assert response.status_code == 400
    assert "email" in response.json()
    assert User.objects.count() == 1


def test_login_gives_token_pair_and_401_on_bad_credentials(api_client):
    UserFactory(email="u@example.com")

    ok = login(api_client, "u@example.com")
    bad = login(api_client, "u@example.com", "wrong-password")
    unknown = login(api_client, "nobody@example.com")

    assert ok.status_code == 200 and set(ok.json()) == {"access", "refresh"}
    assert bad.status_code == 401 and "detail" in bad.json()
    assert unknown.status_code == 401


def test_inactive_user_cannot_log_in(api_client):
    UserFactory(email="gone@example.com", is_active=False)

    assert login(api_client, "gone@example.com").status_code == 401


def test_login_is_throttled_after_a_burst_of_failures(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "5/min"},
    }
    UserFactory(email="u@example.com")

    codes = [login(api_client, "u@example.com", "wrong").status_code for _ in range(6)]
    good_after_burst = login(api_client, "u@example.com")

    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    assert good_after_burst.status_code == 429
    assert "Retry-After" in good_after_burst.headers


def test_failures_for_one_account_do_not_throttle_another(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"},
    }
    UserFactory(email="victim@example.com")
    UserFactory(email="colleague@example.com")

    burst = [login(api_client, "victim@example.com", "wrong").status_code for _ in range(4)]

    assert burst == [401, 401, 401, 429]
    assert login(api_client, "colleague@example.com").status_code == 200
    assert login(api_client, "VICTIM@example.com").status_code == 429


def test_failures_across_many_accounts_from_one_ip_are_throttled_too(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "2/min"},
    }

    codes = [login(api_client, f"guess{i}@example.com", "wrong").status_code for i in range(10)]
    throttled = login(api_client, "guess10@example.com", "wrong")

    assert codes == [401] * 10
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 60


def test_successful_logins_are_not_throttled(api_client):
    UserFactory(email="u@example.com")

    codes = {login(api_client, "u@example.com").status_code for _ in range(15)}

    assert codes == {200}


def test_refresh_rotates_and_blacklists_the_old_refresh_token(api_client):
    UserFactory(email="u@example.com")
    first = login(api_client, "u@example.com").json()

    rotated = api_client.post(reverse("auth-refresh"), {"refresh": first["refresh"]}, format="json")
    replay = api_client.post(reverse("auth-refresh"), {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]
    assert replay.status_code == 401
    again = api_client.post(reverse("auth-refresh"), {"refresh": rotated.json()["refresh"]}, format="json")
    assert again.status_code == 200


def test_refresh_with_garbage_is_401_json(api_client):
    response = api_client.post(reverse("auth-refresh"), {"refresh": "garbage"}, format="json")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_logout_blacklists_refresh_and_deletes_drf_token(api_client):
    UserFactory(email="u@example.com")
    tokens = login(api_client, "u@example.com").json()
    client = bearer(tokens["access"])
    drf_token = client.post(reverse("auth-api-token")).json()["token"]

    response = client.post(reverse("auth-logout"), {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 205
    refresh = api_client.post(reverse("auth-refresh"), {"refresh": tokens["refresh"]}, format="json")
    assert refresh.status_code == 401
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {drf_token}")
    assert token_client.get(reverse("auth-me")).status_code == 401


def test_a_client_with_only_a_drf_token_logs_out_with_an_empty_body(api_client):
    UserFactory(email="u@example.com")
    tokens = login(api_client, "u@example.com").json()
    drf_token = bearer(tokens["access"]).post(reverse("auth-api-token")).json()["token"]
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {drf_token}")

    response = token_client.post(reverse("auth-logout"), {}, format="json")

    assert response.status_code == 205
    assert token_client.get(reverse("auth-me")).status_code == 401


def test_logout_refuses_another_users_refresh_token(api_client):
    UserFactory(email="a@example.com")
    UserFactory(email="b@example.com")
    a = login(api_client, "a@example.com").json()
    b = login(api_client, "b@example.com").json()

    response = bearer(a["access"]).post(reverse("auth-logout"), {"refresh": b["refresh"]}, format="json")

    assert response.status_code == 400
    assert api_client.post(reverse("auth-refresh"), {"refresh": b["refresh"]}, format="json").status_code == 200


def test_api_token_is_created_once_and_reused(client_for):
    client = client_for(UserFactory())

    first = client.post(reverse("auth-api-token"))
    second = client.post(reverse("auth-api-token"))

    assert first.status_code == 200
    assert first.json()["token"] == second.json()["token"]


def _api_key_for(user):
    from accounts.services import api_key_create

    return api_key_create(user=user, name="svc")[1]


@pytest.mark.parametrize("scheme", ["jwt", "token", "api_key_header", "x_api_key", "session"])
def test_every_auth_scheme_reaches_protected_endpoints(scheme):
    user = UserFactory(email="u@example.com")
    client = APIClient()
    if scheme == "jwt":
        access = login(APIClient(), "u@example.com").json()["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    elif scheme == "token":
        from accounts.services import user_api_token

        client.credentials(HTTP_AUTHORIZATION=f"Token {user_api_token(user=user)}")
    elif scheme == "api_key_header":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {_api_key_for(user)}")
    elif scheme == "x_api_key":
        client.credentials(HTTP_X_API_KEY=_api_key_for(user))
    else:
        assert client.login(email="u@example.com", password=PASSWORD)

    me = client.get(reverse("auth-me"))
    users = client.get(reverse("user-list"))

    assert me.status_code == 200 and me.json()["id"] == user.id
    assert users.status_code == 200


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Token nope", "Api-Key th_abcdefgh.nope", "Api-Key"])
def test_bad_credentials_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(reverse("user-list"))

    assert response.status_code == 401
    assert "detail" in response.json()


def test_api_key_in_query_string_is_refused():
    key = _api_key_for(UserFactory())
    client = APIClient()

    in_query = client.get(reverse("user-list"), {"api_key": key})
    in_query_with_header = APIClient()
    in_query_with_header.credentials(HTTP_X_API_KEY=key)

    assert in_query.status_code == 401
    assert in_query_with_header.get(reverse("user-list") + f"?api_key={key}").status_code == 401
