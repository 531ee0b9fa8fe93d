"""Notification preferences: the API, and each fan-out (and the outbox) obeying them."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from comments.models import Comment
from notifications import services
from notifications.models import Notification, NotificationPreference
from notifications.outbox import notification_email_send
from tasks.expiry import task_expire_overdue
from tasks.models import Task
from tasks.tests.factories import TaskFactory

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/preferences/"
KINDS = ["created", "updated", "assigned", "commented", "expired", "reminder", "webhook_disabled"]
ALL_ON = {"email": dict.fromkeys(KINDS, True), "in_app": dict.fromkeys(KINDS, True)}


def turn_off(user, **channels):
    """turn_off(user, email=["created"], in_app=[...]) through the service the API uses."""
    services.notification_preferences_update(
        user=user, changes={channel: dict.fromkeys(kinds, False) for channel, kinds in channels.items()}
    )


# The API ---------------------------------------------------------------------------------


def test_everything_is_on_by_default_for_every_kind(people, client_for, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client_for(people["creator"]).get(URL)

    assert response.status_code == 200
    assert response.json() == ALL_ON
    assert sorted(KINDS) == sorted(Notification.Kind.values)


def test_patch_merges_what_it_names_and_keeps_the_rest(people, client_for):
    client = client_for(people["creator"])

    first = client.patch(URL, {"email": {"commented": False, "reminder": False}}, format="json")
    second = client.patch(URL, {"in_app": {"created": False}, "email": {"reminder": True}}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["email"] == {**ALL_ON["email"], "commented": False, "reminder": False}
    expected = {"email": {**ALL_ON["email"], "commented": False}, "in_app": {**ALL_ON["in_app"], "created": False}}
    assert second.json() == expected
    assert client.get(URL).json() == expected
    # Per user: nobody else's changed.
    assert client_for(people["assignee"]).get(URL).json() == ALL_ON


def test_an_empty_patch_changes_nothing(people, client_for):
    response = client_for(people["creator"]).patch(URL, {}, format="json")

    assert (response.status_code, response.json()) == (200, ALL_ON)


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"sms": {"created": False}}, {"sms": ["Unknown channel; the channels are email, in_app."]}),
        ({"email": {"birthday": False}}, {"email": {"birthday": [
            "Unknown notification kind; the kinds are created, updated, assigned, commented, expired, reminder, "
            "webhook_disabled."
        ]}}),
        ({"email": {"created": "false"}}, {"email": {"created": ["Must be true or false."]}}),
        ({"email": {"created": 0}}, {"email": {"created": ["Must be true or false."]}}),
        ({"in_app": {"created": None}}, {"in_app": {"created": ["This field may not be null."]}}),
        ({"email": False}, {"email": {"non_field_errors": ["Invalid data. Expected a dictionary, but got bool."]}}),
        (["email"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_bad_input_is_a_400_naming_it_and_stores_nothing(people, client_for, body, errors):
    client = client_for(people["creator"])

    response = client.patch(URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not NotificationPreference.objects.exists()


def test_a_valid_part_is_not_stored_when_another_part_is_bad(people, client_for):
    client = client_for(people["creator"])

    response = client.patch(URL, {"email": {"created": False, "updated": "nope"}}, format="json")

    assert response.status_code == 400
    assert client.get(URL).json() == ALL_ON


def test_only_get_and_patch(people, client_for):
    client = client_for(people["creator"])

    assert client.put(URL, ALL_ON, format="json").status_code == 405
    assert client.post(URL, ALL_ON, format="json").status_code == 405


def test_anonymous_is_refused(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.patch(URL, {"email": {"created": False}}, format="json").status_code == 401


def test_patch_runs_a_fixed_number_of_queries(people, client_for, django_assert_max_num_queries):
    client = client_for(people["creator"])
    # savepoint, lock/create (get, savepoint, insert, release), update, release, read back
    with django_assert_max_num_queries(8):
        assert client.patch(URL, {"email": dict.fromkeys(KINDS, False)}, format="json").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.patch(URL, {"in_app": dict.fromkeys(KINDS, False)}, format="json").status_code == 200


# The fan-out -----------------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    """Notification ids whose email was handed to the broker (nothing leaves the process)."""
    from notifications.tasks import send_notification_email_task

    ids = []
    monkeypatch.setattr(send_notification_email_task, "apply_async", lambda args, **options: ids.append(args[0]))
    return ids


def create_task_over_http(client_for, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/v1/tasks/", {"title": "Seed 004 task"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def created_for(client_for, user):
    rows = client_for(user).get("/api/v1/notifications/", {"kind": "created"}).json()["results"]
    return [(row["task"], row["message"]) for row in rows]


def test_the_creator_gets_the_created_notification_and_email(people, client_for, published,
                                                             django_capture_on_commit_callbacks):
    task_id = create_task_over_http(client_for, people["creator"], django_capture_on_commit_callbacks)

    assert created_for(client_for, people["creator"]) == [(task_id, "You created the task “Seed 004 task”.")]
    assert len(created_for(client_for, people["manager"])) == 1
    emailed = Notification.objects.filter(id__in=published).values_list("recipient__email", flat=True)
    assert sorted(emailed) == ["creator@example.com", "manager@example.com"]


@pytest.mark.parametrize(
    "off, listed, emailed",
    [
        ({"email": ["created"]}, True, False),
        ({"in_app": ["created"]}, False, True),
        ({"email": ["created"], "in_app": ["created"]}, False, False),
        # Another kind turned off changes nothing for `created`.
        ({"email": ["commented"], "in_app": ["updated"]}, True, True),
    ],
)
def test_the_creator_gets_only_what_they_left_on(people, client_for, published, django_capture_on_commit_callbacks,
                                                 off, listed, emailed):
    turn_off(people["creator"], **off)

    create_task_over_http(client_for, people["creator"], django_capture_on_commit_callbacks)

    assert bool(created_for(client_for, people["creator"])) is listed
    mine = Notification.objects.filter(recipient=people["creator"], kind="created")
    assert mine.filter(id__in=published).exists() is emailed
    if listed and not emailed:
        assert mine.get().email_status == Notification.EmailStatus.SKIPPED
    if not listed and not emailed:
        assert not mine.exists()  # nothing at all: no row, no email
    # The manager's own preferences are untouched: they get both.
    manager_rows = Notification.objects.filter(recipient=people["manager"], kind="created", in_app=True)
    assert manager_rows.filter(id__in=published).count() == 1


def test_a_comment_respects_each_recipients_choice(people, client_for, published, django_capture_on_commit_callbacks):
    task = TaskFactory(creator=people["creator"], assignees=[people["assignee"]], department=people["dept_a"])
    turn_off(people["creator"], in_app=["commented"])
    turn_off(people["assignee"], email=["commented"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["manager"]).post(f"/api/v1/tasks/{task.pk}/comments/", {"content": "Hi"})
    assert response.status_code == 201

    assert client_for(people["creator"]).get("/api/v1/notifications/").json()["count"] == 0
    assert client_for(people["assignee"]).get("/api/v1/notifications/").json()["count"] == 1
    emailed = Notification.objects.filter(id__in=published).values_list("recipient__email", flat=True)
    assert list(emailed) == ["creator@example.com"]


def test_email_only_rows_are_never_listed_counted_or_readable(people, client_for):
    hidden = NotificationFactory(recipient=people["creator"], in_app=False)
    client = client_for(people["creator"])

    body = client.get("/api/v1/notifications/").json()
    assert (body["count"], body["unread_count"]) == (0, 0)
    assert client.get(f"/api/v1/notifications/{hidden.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{hidden.pk}/read/").status_code == 404
    assert client.post("/api/v1/notifications/read_all/").json() == {"marked": 0}


def test_an_email_turned_off_after_it_was_queued_is_skipped_not_sent(people, mailoutbox):
    note = NotificationFactory(recipient=people["creator"], kind=Notification.Kind.ASSIGNED)
    turn_off(people["creator"], email=["assigned"])

    assert notification_email_send(notification_id=note.pk) is False

    note.refresh_from_db()
    assert (note.email_status, mailoutbox) == (Notification.EmailStatus.SKIPPED, [])


def test_the_sweeper_never_queues_a_skipped_email(people, published):
    note = NotificationFactory(recipient=people["creator"], email_status=Notification.EmailStatus.SKIPPED)
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert services.notification_outbox_sweep() == 0
    assert published == []


def _audience(count, dept):
    users = [UserFactory(department=dept) for _ in range(count)]
    # Every other user has turned something off, so preferences are read for many users.
    for user in users[::2]:
        turn_off(user, email=["assigned", "expired"], in_app=["commented"])
    return users


@pytest.mark.parametrize("count", [1, 40])
def test_single_task_fan_outs_run_a_fixed_number_of_queries(people, count, django_assert_max_num_queries):
    users = _audience(count, people["dept_a"])
    task = TaskFactory(creator=people["creator"], department=people["dept_a"], assignees=users)

    # recipients with their preferences (one query), insert; live's event log adds its writer
    # lock (PostgreSQL) and one INSERT (live/receivers.py)
    with django_assert_max_num_queries(4):
        services.notify_tasks_assigned(assignments=[(task, users)], actor=people["manager"])
    comment = Comment.objects.create(task=task, author=people["manager"], content="Note")
    with django_assert_max_num_queries(4):
        services.notify_task_commented(comment=comment)
    with django_assert_max_num_queries(4):
        services.notify_tasks_created(tasks=[task], actor=people["creator"])

    assert Notification.objects.filter(kind="assigned", email_status="skipped").count() == len(users[::2])
    assert Notification.objects.filter(kind="commented", in_app=False).count() == len(users[::2])


@pytest.mark.parametrize("count", [1, 40])
def test_many_task_fan_outs_run_two_queries_each(people, count):
    """The forms the task signals call with lists (a bulk write's): recipients with their
    preferences in one query, one insert, however many tasks. The receivers other apps hang on
    notifications_created add their own, fixed, queries and are not counted here."""
    users = _audience(3, people["dept_a"])
    tasks = [TaskFactory(creator=people["creator"], department=people["dept_a"], assignees=users)
             for _ in range(count)]
    calls = [
        lambda: services.notify_tasks_created(tasks=tasks, actor=people["creator"]),
        lambda: services.notify_tasks_updated(changes=[(task, ["title"]) for task in tasks], actor=people["manager"]),
        lambda: services.notify_tasks_assigned(assignments=[(task, users) for task in tasks], actor=people["manager"]),
    ]

    for call in calls:
        with CaptureQueriesContext(connection) as queries:
            call()
        ours = [q["sql"] for q in queries.captured_queries
                if not any(other in q["sql"] for other in ("webhooks_", "live_", "pg_advisory"))]
        assert len(ours) == 2, ours

    counts = Counter(Notification.objects.values_list("kind", flat=True))
    assert counts == {"created": 2 * count, "updated": 4 * count, "assigned": 3 * count}  # creator + manager, ...
    assert Notification.objects.filter(kind="assigned", email_status="skipped").count() == 2 * count


@pytest.mark.parametrize("count", [1, 40])
def test_expiry_fan_out_runs_a_fixed_number_of_queries(people, count, django_assert_max_num_queries):
    users = _audience(count, people["dept_a"])
    past = timezone.now() - timedelta(hours=1)
    tasks = Task.objects.bulk_create(
        Task(title=f"Late {i}", creator=people["creator"], due_date=past) for i in range(count)
    )
    Task.assignees.through.objects.bulk_create(
        Task.assignees.through(task_id=task.id, user_id=user.id) for task, user in zip(tasks, users, strict=True)
    )

    # savepoint, the claim + update + history (one statement on PostgreSQL, three elsewhere),
    # recipients with their preferences, notification insert, live event insert, webhook
    # listeners, release
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 9):
        assert task_expire_overdue() == count

    rows = Notification.objects.filter(kind="expired")
    assert rows.count() == 2 * count
    assert rows.filter(email_status="skipped").count() == len(users[::2])
