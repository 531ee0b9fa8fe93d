"""Pages say whether their count is exact; past EXACT_COUNT_LIMIT (PostgreSQL) it may be an estimate."""

import pytest

from tasks.tests.factories import TaskFactory


@pytest.fixture
def ceo_client(people, client_for):
    return client_for(people["ceo"])


@pytest.fixture
def tasks_23(people):
    return TaskFactory.create_batch(23, creator=people["creator"], department=people["dept_a"])


def test_a_count_within_the_limit_is_exact(ceo_client, tasks_23):
    body = ceo_client.get("/api/v1/tasks/", {"page_size": 10}).json()

    assert body["count"] == 23 and body["count_exact"] is True


@pytest.mark.parametrize("value", ["yes", "EXACT", "1"])
def test_count_takes_only_exact(value, ceo_client, tasks_23):
    response = ceo_client.get("/api/v1/tasks/", {"count": value})

    assert response.status_code == 400 and "count" in response.json()


@pytest.mark.services
def test_past_the_limit_the_count_is_an_estimate_and_pages_still_end_right(
    settings, ceo_client, tasks_23, django_assert_max_num_queries
):
    settings.EXACT_COUNT_LIMIT = 5

    with django_assert_max_num_queries(4):  # bounded count, its estimate, the page, assignee ids
        first = ceo_client.get("/api/v1/tasks/", {"page_size": 10}).json()
    last = ceo_client.get("/api/v1/tasks/", {"page_size": 10, "page": 3}).json()
    past = ceo_client.get("/api/v1/tasks/", {"page_size": 10, "page": 4})

    assert first["count_exact"] is False and first["count"] > 5 and first["next"] and len(first["results"]) == 10
    # The last page knows where the set ends.
    assert (last["count"], last["count_exact"], last["next"], len(last["results"])) == (23, True, None, 3)
    assert past.status_code == 404


@pytest.mark.services
def test_count_exact_asks_for_the_exact_figure(settings, ceo_client, tasks_23):
    settings.EXACT_COUNT_LIMIT = 5

    body = ceo_client.get("/api/v1/tasks/", {"count": "exact"}).json()

    assert body["count"] == 23 and body["count_exact"] is True
