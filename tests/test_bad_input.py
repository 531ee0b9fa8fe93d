"""Replays of the reported bad-input crashes and unsafe shipping defaults, through HTTP.

9. JSON nested 100,000 deep; 10. a path without its trailing slash; 11. oversized bodies,
NUL characters and over-long values that PostgreSQL refuses; 12. date filters whose offset
or year cannot reach the database; 14. an email left `sending` by a dead worker;
3. docker-compose.yml shipping development settings and a public secret key.
The NUL and too-long cases crash only on PostgreSQL (CI); they pass on SQLite as well.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from comments.models import Comment
from conftest import wait_for
from notifications.models import Notification
from notifications.outbox import notification_email_send, notification_outbox_sweep
from notifications.tasks import send_notification_email_task
from task_api.models import TaskExecution
from task_api.tests.factories import grant
from tasks.models import Task
from tasks.tests.factories import TaskFactory

BASE_DIR = Path(__file__).resolve().parents[1]
TASKS = "/api/v1/tasks/"
COMMENTS = "/api/v1/comments/"
EXECUTE = "/api/v1/task-api/execute/"
LOGIN = "/api/v1/auth/login/"
REGISTER = "/api/v1/auth/register/"
STRONG = "Corr3ct-horse-battery"


def nested(depth: int, leaf=1):
    """`depth` lists, one inside the other, around `leaf`."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def post_raw(client, path, body: str | bytes, content_type="application/json", method="POST"):
    return client.generic(method, path, body, content_type=content_type)


def assert_json_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.fixture
def ceo_client(people, client_for):
    return client_for(people["ceo"])


@pytest.fixture
def task(people):
    return TaskFactory(creator=people["creator"], assignees=[people["assignee"]])


@pytest.fixture
def runner(people):
    return grant(people["creator"], "task_api.run_benchmarks")


# 9. Deep JSON ----------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LOGIN, REGISTER])
def test_json_nested_100000_deep_is_a_400_without_credentials(path):
    body = assert_json_error(post_raw(APIClient(), path, DEEP), 400)

    assert "nested deeper than 32" in body["detail"]


@pytest.mark.parametrize(
    "method, path",
    [("POST", TASKS), ("POST", COMMENTS), ("POST", EXECUTE), ("PATCH", "TASK"), ("POST", "TASKassign/")],
)
def test_json_nested_100000_deep_is_a_400_on_every_write(client_for, runner, task, method, path):
    path = path.replace("TASK", f"{TASKS}{task.pk}/")
    deep_in_a_field = '{"title": ' + DEEP + "}"

    for body in (DEEP, deep_in_a_field):
        response = post_raw(client_for(runner), path, body, method=method)

        assert "nested deeper than 32" in assert_json_error(response, 400)["detail"]
    assert not TaskExecution.objects.exists()


def test_json_is_taken_32_levels_deep_and_refused_at_33(people, client_for):
    client = client_for(people["creator"])

    # The object itself is the first level; unknown fields are ignored by the serializer.
    ok = client.post(TASKS, {"title": "Deep enough", "extra": nested(31)}, format="json")
    too_deep = client.post(TASKS, {"title": "Too deep", "extra": nested(32)}, format="json")

    assert ok.status_code == 201, ok.content
    assert assert_json_error(too_deep, 400) == {"detail": "JSON nested deeper than 32 levels."}
    assert list(Task.objects.values_list("title", flat=True)) == ["Deep enough"]


# 10. Trailing slash ------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_a_path_without_its_trailing_slash_is_served_as_with_it(people, client_for, settings, debug):
    settings.DEBUG = debug  # `make run` is DEBUG: CommonMiddleware raised for a POST there

    anonymous = APIClient().post("/api/v1/tasks", {"title": "Nope"}, format="json")
    client = client_for(people["creator"])
    created = client.post("/api/v1/tasks", {"title": "No slash"}, format="json")

    assert "detail" in assert_json_error(anonymous, 401)
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    listed = client.get("/api/v1/tasks?status=todo")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    patched = client.patch(f"/api/v1/tasks/{task_id}", {"title": "Renamed"}, format="json")
    assert patched.status_code == 200 and patched.json()["title"] == "Renamed"
    done = client.post(f"/api/v1/tasks/{task_id}/mark_done", format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert client.delete(f"/api/v1/tasks/{task_id}").status_code == 204
    assert not Task.objects.filter(id=task_id, deleted_at__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_an_unknown_path_without_a_slash_is_a_json_404(settings, debug):
    settings.DEBUG = debug

    response = APIClient().post("/api/v1/no-such-thing", {"x": 1}, format="json")

    assert "detail" in assert_json_error(response, 404)


# 11. Oversized bodies -----------------------------------------------------------------------------

BIG = 2_500_000  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB by default)


@pytest.mark.django_db
def test_a_json_body_over_the_limit_is_a_413_without_credentials():
    body = json.dumps({"email": "a@example.com", "password": "x" * BIG})

    assert "too large" in assert_json_error(post_raw(APIClient(), LOGIN, body), 413)["detail"]


def test_a_json_body_over_the_limit_is_a_413(people, client_for):
    body = json.dumps({"title": "Huge", "description": "x" * BIG})

    response = post_raw(client_for(people["creator"]), TASKS, body)

    assert "too large" in assert_json_error(response, 413)["detail"]
    assert not Task.objects.exists()


def test_a_form_body_over_the_limit_is_a_413(people, client_for):
    body = "title=Huge&description=" + "x" * BIG

    response = post_raw(client_for(people["creator"]), TASKS, body, "application/x-www-form-urlencoded")

    assert_json_error(response, 413)


def test_a_multipart_field_over_the_limit_is_a_413(people, client_for, task):
    # Multipart passes the Content-Length guard (it may carry an attachment); Django's
    # parser refuses the oversized text field while reading it.
    response = client_for(people["creator"]).post(
        COMMENTS, {"task": task.pk, "content": "x" * BIG}, format="multipart"
    )

    assert "too large" in assert_json_error(response, 413)["detail"]
    assert not Comment.objects.exists()


def test_too_many_form_fields_or_query_parameters_are_a_400(people, client_for):
    client = client_for(people["creator"])
    many = "&".join(f"f{i}=1" for i in range(1_100))

    form = post_raw(client, TASKS, "title=x&" + many, "application/x-www-form-urlencoded")
    query = client.get(f"{TASKS}?{many}")

    assert "detail" in assert_json_error(form, 400)
    assert "detail" in assert_json_error(query, 400)
    assert not Task.objects.exists()


# 11. NUL characters -------------------------------------------------------------------------------


def test_nul_in_task_api_args_or_kwargs_is_a_400_naming_the_field(client_for, runner):
    client = client_for(runner)

    in_args = client.post(EXECUTE, {"task_name": "task_api.tasks.add", "args": ["1\x00", 2]}, format="json")
    in_a_key = client.post(
        EXECUTE, {"task_name": "task_api.tasks.add", "args": [1], "kwargs": {"y\x00": 2}}, format="json"
    )

    assert assert_json_error(in_args, 400) == {"args": ["NUL characters are not allowed."]}
    assert assert_json_error(in_a_key, 400) == {"kwargs": ["NUL characters are not allowed."]}
    assert not TaskExecution.objects.exists()


def test_nul_in_a_title_or_comment_is_a_400_naming_the_field(people, client_for, task):
    client = client_for(people["creator"])

    title = client.post(TASKS, {"title": "a\x00b"}, format="json")
    patch = client.patch(f"{TASKS}{task.pk}/", {"description": "a\x00b"}, format="json")
    comment = client.post(COMMENTS, {"task": task.pk, "content": "a\x00b"}, format="json")
    form_comment = client.post(COMMENTS, {"task": task.pk, "content": "a\x00b"}, format="multipart")

    assert "title" in assert_json_error(title, 400)
    assert "description" in assert_json_error(patch, 400)
    assert "content" in assert_json_error(comment, 400)
    assert "content" in assert_json_error(form_comment, 400)
    assert not Comment.objects.exists()
    assert Task.objects.count() == 1


@pytest.mark.parametrize(
    "body, error",
    [
        ('{"title": "ok", "extra": {"deep": [1, "\\u0000"]}}', {"extra": ["NUL characters are not allowed."]}),
        ('{"title": "ok", "extra": {"k\\u0000": 1}}', {"extra": ["NUL characters are not allowed."]}),
        ('{"title": "ok", "x\\u0000": 1}', {"detail": "NUL characters are not allowed."}),
        ('["ok", "\\u0000"]', {"detail": "NUL characters are not allowed (item 1)."}),
        ('"\\u0000"', {"detail": "NUL characters are not allowed."}),
    ],
)
def test_nul_anywhere_in_a_json_body_is_a_400_naming_the_top_level_field(people, client_for, body, error):
    response = post_raw(client_for(people["creator"]), TASKS, body)

    assert assert_json_error(response, 400) == error
    assert not Task.objects.exists()


@pytest.mark.parametrize("path", [TASKS, COMMENTS, "/api/v1/users/", "/api/v1/notifications/",
                                  "/api/v1/task-api/executions/"])
def test_nul_in_a_query_parameter_is_a_400_naming_it(ceo_client, path):
    response = ceo_client.get(path, {"search": "a\x00", "page": "1"})

    assert assert_json_error(response, 400) == {"search": ["NUL characters are not allowed."]}


@pytest.mark.django_db
def test_nul_in_a_credential_header_is_a_400():
    response = APIClient().get(TASKS, HTTP_AUTHORIZATION="Token abc\x00def")

    assert "Authorization" in assert_json_error(response, 400)["detail"]


# 11. Values longer than the column ----------------------------------------------------------------


@pytest.mark.django_db
def test_register_with_a_292_character_email_is_a_400_naming_email():
    email = "a" * 280 + "@example.com"
    assert len(email) == 292

    response = APIClient().post(
        REGISTER, {"email": email, "name": "Long", "password": STRONG, "password2": STRONG}, format="json"
    )

    assert "email" in assert_json_error(response, 400)


def test_description_and_comment_hold_20000_characters_and_no_more(people, client_for, task):
    client = client_for(people["creator"])

    long_description = client.post(TASKS, {"title": "Long", "description": "x" * 20_001}, format="json")
    full_description = client.post(TASKS, {"title": "Full", "description": "x" * 20_000}, format="json")
    long_comment = client.post(COMMENTS, {"task": task.pk, "content": "x" * 20_001}, format="json")
    full_comment = client.post(COMMENTS, {"task": task.pk, "content": "x" * 20_000}, format="json")

    assert "description" in assert_json_error(long_description, 400)
    assert "content" in assert_json_error(long_comment, 400)
    assert (full_description.status_code, full_comment.status_code) == (201, 201)


# 12. Date and number filters ----------------------------------------------------------------------


def test_the_reported_due_date_filter_pair_is_a_400_naming_the_parameter(ceo_client):
    response = ceo_client.get(
        "/api/v1/tasks/?due_after=2028-12-09T00:19:14.0%2B17:13&due_before=1206-10-10T13:48:18-05:35"
    )

    assert assert_json_error(response, 400) == {"due_after": ["Enter a UTC offset between -14:00 and +14:00."]}


@pytest.mark.parametrize(
    "path, parameter, value",
    [
        (TASKS, "due_after", "0001-01-01T00:00:00+01:00"),
        (TASKS, "due_before", "9999-12-31T23:59:00-01:00"),
        (TASKS, "due_before", "2030-01-01T00:00:00+15:30"),
        ("/api/v1/task-api/executions/", "created_after", "0001-01-01T00:30:00+01:00"),
        ("/api/v1/task-api/executions/", "created_before", "2030-01-01T00:00:00-16:00"),
    ],
)
def test_a_date_filter_that_cannot_reach_the_database_is_a_400(ceo_client, path, parameter, value):
    response = ceo_client.get(path, {parameter: value})

    assert list(assert_json_error(response, 400)) == [parameter]


def test_date_filters_with_offsets_still_filter_in_utc(people, ceo_client):
    due = timezone.now().replace(microsecond=0) + timedelta(days=2)
    task = TaskFactory(creator=people["creator"], due_date=due)
    just_before = (due - timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(14 * 60))

    response = ceo_client.get(TASKS, {"due_after": just_before.isoformat()})

    assert [t["id"] for t in response.json()["results"]] == [task.pk]


@pytest.mark.parametrize(
    "path, query",
    [
        (TASKS, {"page": "99999999999999999999999"}),
        (TASKS, {"page_size": "99999999999999999999"}),
        (TASKS, {"page": "1e5", "page_size": "-1"}),
        (TASKS, {"page": "last", "page_size": "0"}),
        (TASKS, {"creator": "99999999999999999999", "department": "1e400"}),
        (COMMENTS, {"task": "99999999999999999999", "author": "-99999999999999999999"}),
        ("/api/v1/attachments/", {"task": "99999999999999999999"}),
        ("/api/v1/notifications/", {"task": "99999999999999999999"}),
        ("/api/v1/users/", {"department": "99999999999999999999"}),
        ("/api/v1/task-assignments/", {"task": "99999999999999999999"}),
    ],
)
def test_huge_or_odd_numbers_in_filters_and_pages_are_never_a_500(ceo_client, path, query):
    response = ceo_client.get(path, query)

    assert response.status_code in (200, 400, 404), (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")


# 14. An email a dead worker left `sending` -------------------------------------------------------


@pytest.fixture
def claimed(people, task, settings):
    """claimed(seconds_ago) -> a notification claimed that long ago by a run that never finished."""
    settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT = 360

    def make(seconds_ago):
        note = Notification.objects.create(recipient=people["assignee"], task=task, kind="assigned", message="m")
        at = timezone.now() - timedelta(seconds=seconds_ago)
        Notification.objects.filter(id=note.id).update(
            email_status=Notification.EmailStatus.SENDING, email_claimed_at=at, email_attempts=1,
            email_queued_at=at, created_at=at,
        )
        return note

    return make


def test_an_email_claimed_by_a_dead_worker_is_queued_again_and_sent_once(claimed, monkeypatch, mailoutbox):
    abandoned, live = claimed(361), claimed(30)
    published = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **kw: published.append(args[0]))

    assert notification_outbox_sweep() == 1
    assert published == [abandoned.id]
    for notification_id in published:
        send_notification_email_task.apply(args=(notification_id,))

    abandoned.refresh_from_db()
    live.refresh_from_db()
    assert (abandoned.email_status, abandoned.email_attempts) == ("sent", 2)
    assert [m.to for m in mailoutbox] == [[abandoned.recipient.email]]
    # The run that still holds its claim is left alone: nothing sends it a second time.
    assert live.email_status == "sending"
    assert notification_outbox_sweep() == 0


def test_a_run_whose_claim_was_taken_over_does_not_write_over_the_new_claim(claimed, monkeypatch):
    note = claimed(0)
    Notification.objects.filter(id=note.id).update(email_status=Notification.EmailStatus.PENDING)
    later_claim = timezone.now() + timedelta(seconds=5)

    def send_while_another_run_claims_the_row(self, fail_silently=False):
        Notification.objects.filter(id=note.id).update(email_claimed_at=later_claim)
        return 1

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", send_while_another_run_claims_the_row)
    notification_email_send(notification_id=note.id)

    note.refresh_from_db()
    # The newer run writes its own outcome; this one leaves the row as that run holds it.
    assert (note.email_status, note.email_claimed_at) == ("sending", later_claim)


def mails_to(mail_dir, address):
    """The messages the file backend wrote for one recipient."""
    text = "".join(path.read_text() for path in mail_dir.glob("*.log"))
    return [m for m in re.split(r"\n-{79}\n", text) if re.search(rf"^To: {re.escape(address)}$", m, re.M)]


@pytest.mark.services
def test_a_worker_killed_mid_send_leaves_an_email_the_sweeper_sends_later(
    celery_process, people, tmp_path, settings
):
    task = TaskFactory(creator=people["creator"])
    note = Notification.objects.create(recipient=people["assignee"], task=task, kind="assigned", message="m")
    hanging = celery_process("worker", env={"EMAIL_BACKEND": "tests.mail_backends.HangingEmailBackend"})
    send_notification_email_task.delay(note.id)
    wait_for(lambda: Notification.objects.get(id=note.id).email_status == "sending", 60, 0.2, "the claim")
    hanging.stop(kill=True)

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    celery_process("worker", env={
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir),
    })
    note.refresh_from_db()
    assert note.email_status == "sending"
    # Nothing re-queues it inside the window (its run might still be alive) ...
    assert notification_outbox_sweep() == 0
    # ... and once the window has passed, the sweeper does, and the new worker sends it.
    later = note.email_claimed_at + timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_TIMEOUT + 1)
    assert notification_outbox_sweep(now=later) == 1

    wait_for(lambda: Notification.objects.get(id=note.id).email_status == "sent", 60, 0.2, "the email")
    assert len(mails_to(mail_dir, "assignee@example.com")) == 1


# 3. docker-compose.yml as shipped -------------------------------------------------------------------


def test_the_production_health_check_is_not_redirected_to_https_but_the_rest_is(tmp_path):
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    probe = compose["services"]["web"]["healthcheck"]["test"][-1]
    health_path = probe.split("http://127.0.0.1:8000", 1)[1].split("'")[0]
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        "c = Client(HTTP_HOST='127.0.0.1:8000'); "
        f"print(json.dumps([(r.status_code, r.get('Location')) for r in "
        f"(c.get({health_path!r}), c.get('/api/v1/tasks/'), c.get('/admin/'))]))"
    )
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "test-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,web",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    (health, health_location), *others = json.loads(result.stdout.strip().splitlines()[-1])
    assert health_path == "/api/v1/health/"
    assert health in (200, 503) and health_location is None
    for status, location in others:
        assert status == 301 and location.startswith("https://127.0.0.1:8000/")
