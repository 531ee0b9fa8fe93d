"""Credential lookups are cached between requests, and every change through Django applies at once."""


import pytest
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import auth_cache, services
from accounts.models import ApiKey, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
DEPARTMENTS = "/api/v1/departments/"
KINDS = ["token", "jwt", "api_key"]


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.AUTH_CACHE_SECONDS = 60


@pytest.fixture
def user():
    return UserFactory(email="cached.auth@example.com")


def client_with(kind, user):
    client = APIClient()
    if kind == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    elif kind == "jwt":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {services.api_key_create(user=user, name='ci')[1]}")
    return client


def _deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


def me_reads(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    return len(queries)


@pytest.mark.parametrize("kind", KINDS)
def test_a_repeated_request_reads_no_credential_row(kind, user, settings):
    client = client_with(kind, user)
    first = me_reads(client)

    cached = me_reads(client)

    assert cached < first
    settings.AUTH_CACHE_SECONDS = 0
    assert me_reads(client) == cached + 1  # without the cache: the credential lookup, every time


@pytest.mark.parametrize("kind", KINDS)
def test_the_cached_entry_holds_no_password_hash(kind, user):
    client_with(kind, user).get(ME)

    if kind == "token":
        cached_user = cache.get(auth_cache.token_key(Token.objects.get(user=user).key)).user
    elif kind == "jwt":
        cached_user = cache.get(auth_cache.user_key(user.pk))
    else:
        cached_user = cache.get(auth_cache.api_key_key(ApiKey.objects.get(user=user).prefix)).user

    assert cached_user.pk == user.pk
    assert "password" in cached_user.get_deferred_fields()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("change", ["deactivate", "delete_user"])
def test_a_deactivated_or_deleted_user_is_refused_by_the_next_request(kind, change, user):
    client = client_with(kind, user)
    assert client.get(ME).status_code == 200

    if change == "deactivate":
        _deactivate(user)  # a plain save: user_deactivate() would delete the token and keys too
    else:
        user.delete()

    assert client.get(ME).status_code == 401


@pytest.mark.parametrize("kind", KINDS)
def test_a_changed_role_applies_to_the_next_request(kind, user):
    client = client_with(kind, user)
    assert client.post(DEPARTMENTS, {"name": "Ops"}, format="json").status_code == 403

    user.role = User.Role.HR
    user.save()

    assert client.post(DEPARTMENTS, {"name": "Ops"}, format="json").status_code == 201


@pytest.mark.parametrize("kind", KINDS)
def test_logging_in_again_keeps_the_cached_credential(kind, user):
    client = client_with(kind, user)
    first = me_reads(client)
    warm = me_reads(client)

    update_last_login(None, user)

    assert me_reads(client) == warm < first


def test_a_deleted_token_is_refused_by_the_next_request(user):
    client = client_with("token", user)
    assert client.get(ME).status_code == 200

    Token.objects.filter(user=user).delete()

    assert client.get(ME).status_code == 401


@pytest.mark.parametrize("change", ["delete", "expire", "regenerate"])
def test_a_revoked_api_key_is_refused_by_the_next_request(change, user):
    client = client_with("api_key", user)
    assert client.get(ME).status_code == 200
    api_key = ApiKey.objects.get(user=user)

    if change == "delete":
        api_key.delete()
    elif change == "expire":
        api_key.expires_at = timezone.now()
        api_key.save()
    else:
        new_key = services.api_key_regenerate(api_key=api_key)
        fresh = APIClient()
        fresh.credentials(HTTP_AUTHORIZATION=f"Api-Key {new_key}")
        assert fresh.get(ME).status_code == 200

    assert client.get(ME).status_code == 401


def test_api_key_last_use_is_written_once_while_cached(user):
    client = client_with("api_key", user)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(ME).status_code == 200

    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "accounts_apikey"')]
    assert len(updates) == 1
    assert ApiKey.objects.get(user=user).last_used_at is not None


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_cache_falls_back_to_the_database(kind, user, settings):
    client = client_with(kind, user)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    assert client.get(ME).status_code == 200
    _deactivate(user)
    assert client.get(ME).status_code == 401

