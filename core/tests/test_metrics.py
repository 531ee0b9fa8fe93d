"""`/metrics` for Prometheus: who may read it, and that what it reports follows what happens."""

import uuid

import pytest
from celery import current_app
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Notification
from notifications.tests.factories import NotificationFactory
from task_api.models import TaskExecution
from task_api.tests.factories import TaskExecutionFactory

URL = "/metrics"
TOKEN = "s3cret-metrics-token"


def scrape(client, **headers) -> dict:
    """{(name, (sorted label items)): value} of one scrape."""
    response = client.get(URL, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def fresh(settings):
    """Gauges read at every scrape (no sharing between scrapes), metrics open (DEBUG, no token)."""
    settings.METRICS_CACHE_SECONDS = 0
    settings.METRICS_TOKEN = ""
    settings.DEBUG = True


@pytest.mark.parametrize(
    "token, debug, authorization, expected",
    [
        (TOKEN, False, None, 401),
        (TOKEN, False, f"Bearer {TOKEN}x", 403),
        (TOKEN, False, "Bearer ", 401),
        (TOKEN, False, f"Token {TOKEN}", 401),
        (TOKEN, False, f"Bearer {TOKEN}", 200),
        (TOKEN, True, None, 401),
        (TOKEN, True, f"bearer {TOKEN}", 200),
        ("", True, None, 200),
        ("", False, None, 404),
        ("", False, "Bearer anything", 404),
    ],
)
@pytest.mark.django_db
def test_who_may_read_the_metrics(api_client, settings, token, debug, authorization, expected):
    settings.METRICS_TOKEN = token
    settings.DEBUG = debug
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api_client.get(URL, **headers)

    assert response.status_code == expected
    if expected != 200:
        assert "detail" in response.json()
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_request_counters_latency_and_queries_move_by_route_method_and_status(api_client, fresh, people, client_for):
    ok = ("taskhub_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "task-list")))
    missing = ("taskhub_http_requests_total", (("method", "GET"), ("status", "404"), ("view", "<unresolved>")))
    latency = ("taskhub_http_request_duration_seconds_count", (("method", "GET"), ("view", "task-list")))
    queries = ("taskhub_db_queries_total", (("view", "task-list"),))
    before = scrape(api_client)
    client = client_for(people["manager"])

    client.get("/api/v1/tasks/")
    client.get("/api/v1/tasks/")
    client.get(f"/api/v1/no-such-thing-{uuid.uuid4().hex}/")
    after = scrape(api_client)

    assert after[ok] - before.get(ok, 0) == 2
    assert after[latency] - before.get(latency, 0) == 2
    assert after[missing] - before.get(missing, 0) == 1
    assert after[queries] - before.get(queries, 0) >= 2


@pytest.mark.django_db
def test_executions_by_task_and_status_and_emails_by_status_are_read_at_scrape(
    api_client, fresh, django_assert_max_num_queries
):
    succeeded = ("taskhub_task_api_executions", (("status", "SUCCESS"), ("task_name", "task_api.tasks.add")))
    failed_email = ("taskhub_notification_emails", (("status", "failed"),))
    before = scrape(api_client)
    TaskExecutionFactory.create_batch(2, status=TaskExecution.Status.SUCCESS)
    TaskExecutionFactory(status=TaskExecution.Status.FAILURE)
    NotificationFactory(email_status=Notification.EmailStatus.FAILED)

    with django_assert_max_num_queries(8):  # per gauge: SET LOCAL timeout + GROUP BY (+ savepoint)
        after = scrape(api_client)

    assert before.get(succeeded, 0) == 0 and after[succeeded] == 2
    assert after[("taskhub_task_api_executions", (("status", "FAILURE"), ("task_name", "task_api.tasks.add")))] == 1
    assert (before[failed_email], after[failed_email]) == (0, 1)
    assert after[("taskhub_notification_emails", (("status", "sent"),))] == 0


@pytest.mark.django_db
def test_database_gauges_are_shared_between_scrapes_for_metrics_cache_seconds(
    api_client, fresh, settings, django_assert_num_queries
):
    settings.METRICS_CACHE_SECONDS = 60
    scrape(api_client)
    TaskExecutionFactory(status=TaskExecution.Status.SUCCESS)

    with django_assert_num_queries(0):
        again = scrape(api_client)

    assert ("taskhub_task_api_executions", (("status", "SUCCESS"), ("task_name", "task_api.tasks.add"))) not in again


@pytest.mark.django_db
def test_queue_depth_counts_the_messages_waiting_in_the_broker(api_client, fresh, settings):
    queue = f"metrics-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_ROUTES = {**settings.CELERY_TASK_ROUTES, "metrics.test": {"queue": queue}}
    key = ("taskhub_celery_queue_depth", (("queue", queue),))
    assert scrape(api_client)[key] == 0
    try:
        for _ in range(3):
            current_app.send_task("task_api.tasks.add", args=[1, 1], queue=queue)

        assert scrape(api_client)[key] == 3
    finally:
        with current_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_queue_gauge_out_not_the_scrape(api_client, fresh, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    samples = scrape(api_client)

    assert not any(name == "taskhub_celery_queue_depth" for name, _ in samples)
    assert samples[("taskhub_metrics_scrape_errors_total", (("collector", "queue_depth_metrics"),))] >= 1
    assert samples[("taskhub_notification_emails", (("status", "sent"),))] == 0
