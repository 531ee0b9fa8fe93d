"""The admin index dashboard: what it shows, in how many queries, and the stuck list's fixes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.models import Notification
from staff import selectors
from staff.tests.seed import seed
from task_api.models import TaskExecution
from task_api.tests.factories import grant
from tasks.models import Task

pytestmark = pytest.mark.django_db
Status = TaskExecution.Status


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def quiet_broker(settings, tmp_path):
    """An empty filesystem broker of this test's own, so queue depths are read and are 0."""
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return folder


def test_the_index_shows_the_dashboard_above_the_app_list(superuser_client, quiet_broker):
    seeded = seed(40)

    html = superuser_client.get("/admin/").content.decode()

    assert html.index('id="staff-dashboard"') < html.index('class="app-task_api module')
    for chart in ("chart-departments", "chart-days", "chart-hours"):
        assert f'id="{chart}"' in html
    assert html.count("<svg class=\"th-chart\"") == 3
    open_tasks = Task.objects.filter(status__in=Task.OPEN_STATUSES).count()
    assert f'data-metric="open">{open_tasks}<' in html
    assert 'data-queue="default">0<' in html and 'data-queue="emails">0<' in html
    # The stuck list: the lost run, the run no worker took and the unsent email, each with its fixes.
    for row in (seeded["lost"], seeded["never_taken"]):
        assert f"/admin/staff/fix/executions/rerun/{row.pk}/" in html
        assert f"/admin/staff/fix/executions/mark-failed/{row.pk}/" in html
    assert f"/admin/staff/fix/emails/resend/{seeded['stuck_email'].pk}/" in html
    assert 'data-metric="stuck">3<' in html


def test_counts_per_department_day_and_hour(quiet_broker):
    now = timezone.now()
    seed(80, now=now)

    data = selectors.dashboard(now=now)

    drawn = {d["name"]: d for d in data["tasks"]["departments"]}
    for name in ("Engineering", "Sales", "Support"):
        expected = Task.objects.filter(department__name=name, status=Task.Status.TODO).count()
        assert drawn[name]["todo"] == expected
    overdue = Task.objects.filter(status__in=Task.OPEN_STATUSES, due_date__lt=now).count()
    assert data["tasks"]["totals"]["overdue"] == overdue
    assert sum(day["created"] for day in data["days"]) == Task.objects.count()
    assert sum(day["completed"] for day in data["days"]) == Task.objects.filter(status=Task.Status.DONE).count()
    in_window = TaskExecution.objects.filter(
        created_at__gte=(now - timedelta(hours=47)).replace(minute=0, second=0, microsecond=0)
    )
    assert data["execution_totals"]["runs"] == in_window.count()
    assert data["execution_totals"]["failed"] == in_window.filter(status=Status.FAILURE).count()


def test_percentiles_and_failure_rate_per_task_name(db, quiet_broker):
    now = timezone.now()
    user = UserFactory()
    for ms, status in [(100, Status.SUCCESS), (200, Status.SUCCESS), (300, Status.FAILURE), (400, Status.SUCCESS)]:
        started = now - timedelta(minutes=5)
        TaskExecution.objects.create(user=user, task_name="x.job", status=status, created_at=started,
                                     started_at=started, completed_at=started + timedelta(milliseconds=ms))
    TaskExecution.objects.create(user=user, task_name="x.job", status=Status.PENDING, created_at=now)

    (row,) = selectors.execution_stats_by_task(now=now)

    assert (row["runs"], row["finished"], row["failed"]) == (5, 4, 1)
    assert row["failure_rate"] == 0.25
    # percentile_cont's linear interpolation, on PostgreSQL and in the SQLite fallback alike.
    assert row["p50"] == timedelta(milliseconds=250)
    assert row["p95"] == timedelta(milliseconds=385)


def _dashboard_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/")
    assert response.status_code == 200
    return len(queries)


def test_dashboard_query_count_does_not_grow_with_the_data(superuser_client, quiet_broker,
                                                         django_assert_max_num_queries):
    seed(10)
    small = _dashboard_queries(superuser_client)
    seed(200, seed_value=8)
    with django_assert_max_num_queries(small):
        superuser_client.get("/admin/")

    assert _dashboard_queries(superuser_client) == small


def test_a_broker_that_does_not_answer_shows_na_quickly(superuser_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    started = timezone.now()

    html = superuser_client.get("/admin/").content.decode()

    assert 'data-queue="default">n/a<' in html and 'data-queue="emails">n/a<' in html
    assert timezone.now() - started < timedelta(seconds=5)


def test_queue_depths_count_waiting_messages(superuser_client, quiet_broker):
    from celery import current_app

    with current_app.connection_for_write(
        url="filesystem://", transport_options={"data_folder_in": str(quiet_broker),
                                                "data_folder_out": str(quiet_broker)}
    ) as conn:
        producer = conn.Producer()
        for _ in range(3):
            producer.publish({"x": 1}, routing_key="emails", exchange="", declare=[])

    html = superuser_client.get("/admin/").content.decode()

    assert 'data-queue="emails">3<' in html and 'data-queue="default">0<' in html


def fix_url(source, fix, pk):
    return f"/admin/staff/fix/{source}/{fix}/{pk}/"


def test_resend_fix_requeues_the_stuck_email(superuser_client, quiet_broker, monkeypatch,
                                             django_capture_on_commit_callbacks):
    from notifications.tasks import send_notification_email_task

    published = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **kw: published.append(args[0]))
    email = seed(5)["stuck_email"]

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(fix_url("emails", "resend", email.pk), follow=True)

    assert published == [email.pk]
    assert f"Email {email.pk} queued again." in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("/admin/#stuck")


def test_mark_failed_fix_ends_the_lost_run(superuser_client, quiet_broker):
    lost = seed(5)["lost"]

    superuser_client.post(fix_url("executions", "mark-failed", lost.pk))

    lost.refresh_from_db()
    assert lost.status == Status.FAILURE and lost.error.startswith("MarkedFailed:")


def test_rerun_fix_of_a_lost_run_fails_it_and_runs_it_again(superuser_client, quiet_broker, monkeypatch):
    from task_api.registry import registry

    lost = seed(5)["lost"]
    grant(lost.user, "task_api.run_benchmarks")
    monkeypatch.setattr(registry.get("task_api.tasks.add").task, "apply_async", lambda *a, **kw: None)

    superuser_client.post(fix_url("executions", "rerun", lost.pk))

    lost.refresh_from_db()
    rerun = TaskExecution.objects.get(rerun_of=lost)
    assert lost.status == Status.FAILURE and (rerun.status, rerun.args) == (Status.PENDING, [1, 2])


def test_a_fix_on_a_row_no_longer_stuck_changes_nothing(superuser_client, quiet_broker):
    done = TaskExecution.objects.create(user=UserFactory(), task_name="x", status=Status.SUCCESS)

    response = superuser_client.post(fix_url("executions", "mark-failed", done.pk), follow=True)

    done.refresh_from_db()
    assert done.status == Status.SUCCESS
    assert "no longer stuck" in response.content.decode()


@pytest.mark.parametrize("url", [fix_url("nothing", "resend", 1), fix_url("emails", "explode", 1),
                                 fix_url("executions", "rerun", "not-a-uuid")])
def test_unknown_fixes_and_ids_are_refused_cleanly(superuser_client, url):
    response = superuser_client.post(url)

    assert response.status_code in (302, 404)


def test_fix_endpoint_takes_post_only(superuser_client):
    assert superuser_client.get(fix_url("emails", "resend", 1)).status_code == 405


@pytest.mark.parametrize(
    "persona, expected",
    [("anonymous", 302), ("employee", 302), ("staff_without_permission", 403), ("staff_with_permission", 302)],
)
def test_who_may_apply_a_fix(client, quiet_broker, persona, expected):
    lost = seed(3)["lost"]
    if persona != "anonymous":
        user = UserFactory(is_staff=persona.startswith("staff"))
        if persona == "staff_with_permission":
            user = grant(user, "task_api.change_taskexecution")
        client.force_login(user)

    response = client.post(fix_url("executions", "mark-failed", lost.pk))

    assert response.status_code == expected
    lost.refresh_from_db()
    assert lost.status == (Status.FAILURE if persona == "staff_with_permission" else Status.STARTED)
    if expected == 302 and persona != "staff_with_permission":
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["anonymous", "employee"])
def test_only_staff_see_the_dashboard(client, persona):
    if persona == "employee":
        client.force_login(UserFactory())

    response = client.get("/admin/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_stuck_email_window_follows_the_outbox_settings(db, settings, quiet_broker):
    now = timezone.now()
    fresh = Notification.objects.create(recipient=UserFactory(), kind="updated", message="m")
    sending = Notification.objects.create(recipient=UserFactory(), kind="updated", message="m",
                                          email_status="sending", email_claimed_at=now - timedelta(seconds=30))

    groups = {g.key: g for g in selectors.dashboard(now=now)["stuck"]}
    assert groups["emails"].count == 0

    later = now + timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT + 1)
    groups = {g.key: g for g in selectors.dashboard(now=later)["stuck"]}
    assert {row.pk for row in groups["emails"].rows} == {str(fresh.pk), str(sending.pk)}


def test_staff_see_only_the_fixes_they_may_apply(client, quiet_broker):
    seeded = seed(3)
    client.force_login(grant(UserFactory(is_staff=True), "task_api.change_taskexecution"))

    html = client.get("/admin/").content.decode()

    assert f"/admin/staff/fix/executions/rerun/{seeded['lost'].pk}/" in html
    assert "/admin/staff/fix/emails/resend/" not in html


def test_days_and_hours_leave_out_what_is_dated_in_the_future(db, quiet_broker):
    now = timezone.now()
    task = Task.objects.create(title="t", creator=UserFactory(), status=Task.Status.DONE,
                               completed_at=now + timedelta(days=3))
    TaskExecution.objects.create(user=task.creator, task_name="x", created_at=now + timedelta(days=1))

    days = selectors.tasks_per_day(now=now)
    hours = selectors.executions_per_hour(now=now)

    assert sum(d["created"] for d in days) == 1 and sum(d["completed"] for d in days) == 0
    assert sum(h["total"] for h in hours) == 0
