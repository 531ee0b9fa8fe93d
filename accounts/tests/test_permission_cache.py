"""Permission sets are cached between requests, and every change through Django applies at once."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

AVAILABLE = "/api/v1/task-api/available/"
EXECUTE = "/api/v1/task-api/execute/"
ADD = {"task_name": "task_api.tasks.add", "args": [1, 2]}
CODENAME = "run_benchmarks"


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.PERMISSIONS_CACHE_SECONDS = 300


@pytest.fixture
def perm(db):
    return Permission.objects.get(content_type__app_label="task_api", codename=CODENAME)


@pytest.fixture
def user(db):
    return UserFactory(email="cached@example.com")


@pytest.fixture
def client(user):
    """Token-authenticated, so every request loads the user afresh, as in production."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def can_add(client) -> bool:
    return "task_api.tasks.add" in [row["task_name"] for row in client.get(AVAILABLE).json()]


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_a_cached_permission_check_reads_no_permission_table(user, perm, django_assert_num_queries):
    user.user_permissions.add(perm)
    assert fresh(user).has_perm(f"task_api.{CODENAME}")
    again = fresh(user)

    with django_assert_num_queries(0):
        assert again.has_perm(f"task_api.{CODENAME}")


def test_granting_and_revoking_a_user_permission_applies_to_the_next_request(client, user, perm):
    assert not can_add(client)
    assert client.post(EXECUTE, ADD, format="json").status_code == 403

    user.user_permissions.add(perm)
    assert can_add(client)

    user.user_permissions.remove(perm)
    assert not can_add(client)
    assert client.post(EXECUTE, ADD, format="json").status_code == 403


@pytest.mark.parametrize("change", ["remove_from_group", "clear_groups", "group_loses_permission", "delete_group"])
def test_group_changes_apply_to_the_next_request(client, user, perm, change):
    group = Group.objects.create(name="runners")
    group.permissions.add(perm)
    user.groups.add(group)
    assert can_add(client)

    if change == "remove_from_group":
        user.groups.remove(group)
    elif change == "clear_groups":
        user.groups.clear()
    elif change == "group_loses_permission":
        group.permissions.remove(perm)
    else:
        group.delete()

    assert not can_add(client)


def test_adding_to_a_group_from_the_group_side_applies(client, user, perm):
    group = Group.objects.create(name="runners")
    group.permissions.add(perm)
    assert not can_add(client)

    group.user_set.add(user)

    assert can_add(client)


def test_a_deactivated_user_loses_permissions_at_once(user, perm):
    user.user_permissions.add(perm)
    assert fresh(user).has_perm(f"task_api.{CODENAME}")

    user.is_active = False
    user.save()

    assert not fresh(user).has_perm(f"task_api.{CODENAME}")


def test_an_unreachable_cache_falls_back_to_the_database(client, user, perm, settings):
    user.user_permissions.add(perm)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}

    assert fresh(user).has_perm(f"task_api.{CODENAME}")
    user.user_permissions.remove(perm)
    assert not fresh(user).has_perm(f"task_api.{CODENAME}")


def test_with_caching_off_every_check_reads_the_database(user, perm, settings, django_assert_num_queries):
    settings.PERMISSIONS_CACHE_SECONDS = 0
    user.user_permissions.add(perm)
    assert fresh(user).has_perm(f"task_api.{CODENAME}")
    again = fresh(user)

    with django_assert_num_queries(2):  # the user's own and the group permissions
        assert again.has_perm(f"task_api.{CODENAME}")


@pytest.mark.parametrize("setting", ["PERMISSIONS_CACHE_SECONDS", "AUTH_CACHE_SECONDS"])
def test_caching_is_off_by_default_without_a_shared_cache(setting):
    """Permission sets and credentials (accounts/auth_cache.py) alike."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", setting)}
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{setting})"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "0"
