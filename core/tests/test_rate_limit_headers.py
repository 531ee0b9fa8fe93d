"""Rate limits of authenticated requests, per user or per API key, and their headers (SPEC §10)."""

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.services import api_key_create
from accounts.tests.factories import UserFactory
from core.throttling import RateLimitThrottle
from task_api.registry import registry
from task_api.tests.factories import grant

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
# Mid-window, so a test never straddles the minute's end and sees its count drop.
NOW = 1_800_000_030.25


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(RateLimitThrottle, "timer", staticmethod(lambda: NOW))


def rates(settings, **changed):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changed},
    }


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def limit_headers(response):
    return tuple(int(response[h]) for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"))


def test_authenticated_responses_carry_decreasing_headers(client_for):
    client = client_for(UserFactory())

    first, second = client.get(ME), client.get(ME)

    assert limit_headers(first) == (1200, 1199, 30)
    assert limit_headers(second) == (1200, 1198, 30)


def test_anonymous_responses_carry_none():
    response = APIClient().get("/api/v1/health/")

    assert "X-RateLimit-Limit" not in response


def test_key_requests_count_per_key_apart_from_the_owner(client_for):
    owner = UserFactory()
    _, first_key = api_key_create(user=owner, name="one")
    _, second_key = api_key_create(user=owner, name="two")

    key_client(first_key).get(ME)
    by_key = key_client(first_key).get(ME)
    by_other_key = key_client(second_key).get(ME)
    by_owner = client_for(owner).get(ME)

    assert limit_headers(by_key) == (600, 598, 30)
    assert limit_headers(by_other_key) == (600, 599, 30)
    assert limit_headers(by_owner) == (1200, 1199, 30)


def test_a_full_window_answers_429_with_retry_after_and_the_headers(client_for, settings):
    rates(settings, user="2/min")
    user, other = UserFactory(), UserFactory()
    client = client_for(user)

    codes = [client.get(ME).status_code for _ in range(2)]
    refused = client.get(ME)

    assert codes == [200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert limit_headers(refused) == (2, 0, 30)
    assert client_for(other).get(ME).status_code == 200


def test_a_key_has_its_own_rate(client_for, settings):
    rates(settings, api_key="1/min")
    owner = UserFactory()
    _, raw = api_key_create(user=owner, name="ci")

    assert key_client(raw).get(ME).status_code == 200
    assert key_client(raw).get(ME).status_code == 429
    assert client_for(owner).get(ME).status_code == 200


def test_the_next_window_frees_the_count(client_for, settings, monkeypatch):
    rates(settings, user="1/min")
    client = client_for(UserFactory())
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 429

    monkeypatch.setattr(RateLimitThrottle, "timer", staticmethod(lambda: NOW + 30))

    assert limit_headers(client.get(ME)) == (1, 0, 60)


def test_execute_counts_against_the_user_rate_too(client_for, settings, monkeypatch):
    for entry in registry.all():
        monkeypatch.setattr(entry.task, "apply_async", lambda *args, **kwargs: None)
    rates(settings, user="1/min")
    client = client_for(grant(UserFactory(), "task_api.run_benchmarks"))
    body = {"task_name": "task_api.tasks.add", "args": [1, 2]}

    submitted = client.post("/api/v1/task-api/execute/", body, format="json")
    refused = client.post("/api/v1/task-api/execute/", body, format="json")

    assert submitted.status_code == 202 and limit_headers(submitted)[:2] == (1, 0)
    assert refused.status_code == 429 and "Retry-After" in refused


def test_counts_live_in_the_shared_cache(client_for):
    user = UserFactory()

    client_for(user).get(ME)

    window = int(NOW // 60)
    assert caches["shared"].get(f"ratelimit:user:{user.pk}:{window}") == 1


def test_the_limit_costs_no_database_query(client_for, settings, django_assert_num_queries):
    user = UserFactory()
    client = client_for(user)
    client.get(ME)

    with django_assert_num_queries(1):  # the user row of `me`, as without the limit
        response = client.get(ME)

    assert limit_headers(response)[1] == 1198


@pytest.mark.services
def test_the_count_is_one_redis_round_trip(client_for, monkeypatch):
    from redis.client import Pipeline, Redis

    calls = []
    real_execute, real_command = Pipeline.execute, Redis.execute_command

    def execute(self, *args, **kwargs):
        calls.append([command[0][0] for command in self.command_stack])
        return real_execute(self, *args, **kwargs)

    def execute_command(self, *args, **kwargs):
        calls.append(args[0])
        return real_command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", execute)
    monkeypatch.setattr(Redis, "execute_command", execute_command)
    client = client_for(UserFactory())
    client.get(ME)
    calls.clear()

    response = client.get(ME)

    assert limit_headers(response)[1] == 1198
    assert calls == [["INCRBY", "EXPIRE"]]


def test_an_unreachable_cache_lets_requests_through_uncounted(client_for, settings):
    client = client_for(UserFactory())
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
    }

    response = client.get(ME)

    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
