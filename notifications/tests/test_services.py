from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from comments.models import Comment
from notifications import services
from notifications.models import Notification
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def recipients(kind, task=None):
    rows = Notification.objects.filter(kind=kind)
    if task is not None:
        rows = rows.filter(task=task)
    return sorted(rows.values_list("recipient__email", flat=True))


@pytest.fixture
def task(people):
    return TaskFactory(
        title="Quarterly plan", creator=people["creator"], department=people["dept_a"],
        assignees=[people["assignee"]],
    )


def test_created_goes_to_the_creator_who_acted_and_to_the_department_manager(people, task):
    """Seed 004: the creator gets the `created` notification (and email) of their own task."""
    services.notify_tasks_created(tasks=[task], actor=people["creator"])

    assert recipients("created") == ["creator@example.com", "manager@example.com"]
    mine = Notification.objects.get(kind="created", recipient=people["creator"])
    theirs = Notification.objects.get(kind="created", recipient=people["manager"])
    assert mine.actor == theirs.actor == people["creator"]
    assert mine.message == "You created the task “Quarterly plan”."
    assert theirs.message == f"{people['creator'].name} created the task “Quarterly plan”."


def test_created_by_someone_else_also_tells_the_creator(people, task):
    services.notify_tasks_created(tasks=[task], actor=people["hr"])

    assert recipients("created") == ["creator@example.com", "manager@example.com"]


def test_created_by_the_department_manager_tells_only_the_creator(people, task):
    services.notify_tasks_created(tasks=[task], actor=people["manager"])

    assert recipients("created") == ["creator@example.com"]


def test_updated_goes_to_creator_and_assignees_but_not_the_actor(people, task):
    services.notify_tasks_updated(changes=[(task, ["status", "completed_at"])], actor=people["assignee"])

    assert recipients("updated") == ["creator@example.com"]
    message = Notification.objects.get(kind="updated").message
    assert "status" in message and "completed at" not in message


def test_updated_with_nothing_changed_notifies_nobody(people, task):
    assert services.notify_tasks_updated(changes=[(task, [])], actor=people["creator"]) == []
    assert not Notification.objects.exists()


def test_a_creator_who_is_also_assignee_is_notified_once(people):
    task = TaskFactory(creator=people["creator"], assignees=[people["creator"], people["assignee"]])

    services.notify_tasks_updated(changes=[(task, ["title"])], actor=people["hr"])

    assert recipients("updated") == ["assignee@example.com", "creator@example.com"]


def test_assigned_goes_to_each_new_assignee_except_the_actor(people, task):
    services.notify_tasks_assigned(
        assignments=[(task, [people["assignee"], people["creator"], people["outsider"].pk])], actor=people["creator"]
    )

    assert recipients("assigned") == ["assignee@example.com", "outsider@example.com"]


def test_inactive_users_are_not_notified(people, task):
    people["assignee"].is_active = False
    people["assignee"].save()

    services.notify_tasks_assigned(assignments=[(task, [people["assignee"]])], actor=people["creator"])

    assert recipients("assigned") == []


def test_commented_goes_to_creator_and_assignees_but_the_author(people, task):
    second = UserFactory(email="second@example.com")
    task.assignees.add(second)
    comment = Comment.objects.create(task=task, author=people["assignee"], content="Looks\ngood to me")

    services.notify_task_commented(comment=comment)

    assert recipients("commented") == ["creator@example.com", "second@example.com"]
    assert Notification.objects.filter(kind="commented", actor=people["assignee"]).count() == 2
    assert "Looks good to me" in Notification.objects.filter(kind="commented").first().message


def test_emails_are_queued_only_after_the_transaction_commits(people, task, published,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notes = services.notify_tasks_updated(changes=[(task, ["title"])], actor=people["hr"])
        assert published == []

    # Other after-commit work (live's wake-up of open streams) is not the emails'.
    assert len([c for c in callbacks if "notification_ids" in getattr(c, "keywords", {})]) == 1
    assert sorted(published) == sorted(n.id for n in notes)
    assert all(n.email_queued_at for n in Notification.objects.all())


def test_a_broker_outage_leaves_the_email_pending_in_the_outbox(people, task, broker_refuses,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_tasks_updated(changes=[(task, ["title"])], actor=people["hr"])

    note = Notification.objects.get(recipient=people["creator"])
    assert note.email_status == Notification.EmailStatus.PENDING
    assert note.email_queued_at is None


def test_the_sweeper_queues_emails_that_never_reached_the_broker(people, published):
    now = timezone.now()
    stranded = Notification.objects.create(recipient=people["creator"], kind="updated", message="x")
    fresh = Notification.objects.create(recipient=people["creator"], kind="updated", message="y")
    queued = Notification.objects.create(recipient=people["creator"], kind="updated", message="z",
                                         email_queued_at=now - timedelta(minutes=5))
    lost = Notification.objects.create(recipient=people["creator"], kind="updated", message="w",
                                       email_queued_at=now - timedelta(hours=1))
    sent = Notification.objects.create(recipient=people["creator"], kind="updated", message="v",
                                       email_status="sent")
    Notification.objects.filter(id__in=[stranded.id, queued.id, lost.id, sent.id]).update(
        created_at=now - timedelta(hours=2)
    )

    assert services.notification_outbox_sweep() == 2

    assert sorted(published) == [stranded.id, lost.id]
    assert fresh.id not in published
    stranded.refresh_from_db()
    assert stranded.email_queued_at is not None


def test_mark_read_keeps_the_first_read_time(people):
    note = Notification.objects.create(recipient=people["creator"], kind="updated", message="x")
    first = services.notification_mark_read(notification=note).read_at

    again = services.notification_mark_read(notification=Notification.objects.get(id=note.id))

    assert first is not None
    assert again.read_at == first
