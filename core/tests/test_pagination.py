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


@pytest.mark.services
def test_a_big_unfiltered_set_answers_the_planners_estimate_without_counting(
    settings, people, client_for, tasks_23, monkeypatch
):
    """For those who see everything, on a big table, a planner estimate far past the limit is the
    count (no bounded count); someone whose rows visibility narrows is counted first.

    The table's size and the estimate are stood in for: an ANALYZE here would outlive the test
    and change the plans later tests look at."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import pagination

    settings.EXACT_COUNT_LIMIT = 1
    settings.COUNT_ESTIMATE_FIRST_ROWS = 10
    asked = []
    monkeypatch.setattr(pagination, "table_rows", lambda connection, table: 1_000_000)
    monkeypatch.setattr(
        pagination.CountLimitPaginator, "_planner_rows", staticmethod(lambda ids, connection: asked.append(1) or 600)
    )

    def counted(queries):  # the bounded count: SELECT COUNT(*) FROM (SELECT ... LIMIT n)
        return any(q["sql"].startswith("SELECT COUNT(*)") for q in queries.captured_queries)

    with CaptureQueriesContext(connection) as ceo_queries:
        body = client_for(people["ceo"]).get("/api/v1/tasks/", {"page_size": 5}).json()
    ceo_asked, asked[:] = len(asked), []
    with CaptureQueriesContext(connection) as employee_queries:
        mine = client_for(people["creator"]).get("/api/v1/tasks/", {"page_size": 5}).json()

    assert (body["count"], body["count_exact"], len(body["results"])) == (600, False, 5)
    assert ceo_asked == 1 and not counted(ceo_queries)
    # Read past the limit first (the employee's own rows, by id), then estimated.
    assert (mine["count"], mine["count_exact"], asked) == (600, False, [1])
    assert employee_queries.captured_queries[0]["sql"].startswith('SELECT "tasks_task"."id"')


@pytest.mark.services
def test_an_estimate_of_rows_that_are_not_there_still_ends_at_an_empty_first_page(
    settings, ceo_client, tasks_23, monkeypatch
):
    from core import pagination

    settings.COUNT_ESTIMATE_FIRST_ROWS = 10
    monkeypatch.setattr(pagination, "table_rows", lambda connection, table: 1_000_000)
    monkeypatch.setattr(pagination.CountLimitPaginator, "_planner_rows", staticmethod(lambda ids, connection: 500_000))

    body = ceo_client.get("/api/v1/tasks/", {"search": "no task says this"}).json()
    found = ceo_client.get("/api/v1/tasks/", {"page_size": 10}).json()

    assert (body["count"], body["count_exact"], body["results"], body["next"]) == (0, True, [], None)
    assert (found["count"], found["count_exact"], len(found["results"])) == (500_000, False, 10)


@pytest.mark.services
def test_an_employees_page_is_read_once_by_id_and_pages_in_order(people, client_for, django_assert_num_queries):
    """An employee's few rows: their ids in the page's order give the count and the page (the
    second query reads by id); every page holds the rows a count and a sliced page would."""
    TaskFactory.create_batch(23, creator=people["creator"], department=people["dept_a"])
    client = client_for(people["creator"])

    def pages(**params):
        return [client.get("/api/v1/tasks/", {"page_size": 10, "page": n, **params}).json() for n in (1, 2, 3)]

    with django_assert_num_queries(3):  # the ordered ids, the page's rows, their assignee ids
        client.get("/api/v1/tasks/", {"page_size": 10})
    by_id, sliced = pages(), pages(count="exact")  # `exact`: the plain count and slice
    past = client.get("/api/v1/tasks/", {"page_size": 10, "page": 4})

    assert [(page["count"], page["count_exact"]) for page in by_id] == [(23, True)] * 3
    assert [row["id"] for page in by_id for row in page["results"]] == [
        row["id"] for page in sliced for row in page["results"]
    ]
    assert (by_id[0]["next"] is not None, by_id[2]["next"]) == (True, None)
    assert past.status_code == 404
