import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.tests.factories import UserFactory
from config.beat import BEAT_SCHEDULE
from core.beat import beat_schedule_sync
from notifications.models import Notification
from tasks import expiry
from tasks.expiry import task_expire_overdue
from tasks.models import Task, TaskStatusHistory
from tasks.reminders import task_send_due_reminders
from tasks.tests.factories import TaskFactory

HOUR = timedelta(hours=1)


def make_overdue(count, *, creator, assignees=(), status=Task.Status.TODO):
    """`count` overdue tasks in three queries, however many."""
    tasks = Task.objects.bulk_create(
        Task(title=f"Overdue {i}", creator=creator, status=status, due_date=timezone.now() - HOUR)
        for i in range(count)
    )
    Task.assignees.through.objects.bulk_create(
        Task.assignees.through(task_id=task.id, user_id=user.id) for task in tasks for user in assignees
    )
    return tasks


@pytest.mark.django_db
def test_overdue_open_tasks_fail_with_history_and_notifications(people):
    todo = TaskFactory(creator=people["creator"], assignees=[people["assignee"]], due_date=timezone.now() - HOUR)
    started = TaskFactory(creator=people["creator"], status=Task.Status.IN_PROGRESS,
                          due_date=timezone.now() - HOUR)

    assert task_expire_overdue() == 2

    assert set(Task.objects.values_list("status", flat=True)) == {Task.Status.FAILED}
    history = {(h.task_id, h.from_status, h.to_status, h.changed_by_id) for h in TaskStatusHistory.objects.all()}
    assert history == {(todo.id, "todo", "failed", None), (started.id, "in_progress", "failed", None)}
    notified = Counter(Notification.objects.filter(kind="expired").values_list("task_id", "recipient__email"))
    assert notified == {
        (todo.id, "creator@example.com"): 1,
        (todo.id, "assignee@example.com"): 1,
        (started.id, "creator@example.com"): 1,
    }
    assert not Notification.objects.filter(actor__isnull=False).exists()


@pytest.mark.django_db
def test_only_open_overdue_live_tasks_expire(people):
    past = timezone.now() - HOUR
    kept = [
        TaskFactory(creator=people["creator"], due_date=timezone.now() + HOUR),
        TaskFactory(creator=people["creator"], due_date=None),
        TaskFactory(creator=people["creator"], due_date=past, status=Task.Status.DONE),
        TaskFactory(creator=people["creator"], due_date=past, deleted_at=timezone.now()),
    ]

    assert task_expire_overdue() == 0

    assert [Task.all_objects.get(id=t.id).status for t in kept] == [t.status for t in kept]
    assert not TaskStatusHistory.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_second_run_changes_nothing(people):
    make_overdue(3, creator=people["creator"], assignees=[people["assignee"]])

    assert task_expire_overdue() == 3
    assert task_expire_overdue() == 0

    assert TaskStatusHistory.objects.count() == 3
    assert Notification.objects.count() == 6


@pytest.mark.django_db
def test_a_creator_on_their_own_task_is_notified_once(people):
    make_overdue(1, creator=people["creator"], assignees=[people["creator"]])

    task_expire_overdue()

    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_expiry_queues_every_email_in_one_commit_callback(people, django_capture_on_commit_callbacks):
    make_overdue(5, creator=people["creator"], assignees=[people["assignee"]])

    with django_capture_on_commit_callbacks() as callbacks:
        task_expire_overdue()

    # Other after-commit work (live's wake-up of open streams) is not the emails'.
    callbacks = [c for c in callbacks if "notification_ids" in getattr(c, "keywords", {})]
    assert len(callbacks) == 1
    queued = callbacks[0].keywords["notification_ids"]
    assert sorted(queued) == sorted(Notification.objects.values_list("id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("overdue", [1, 1000])
def test_expiry_runs_a_fixed_number_of_queries(people, django_assert_max_num_queries, overdue):
    make_overdue(overdue, creator=people["creator"], assignees=[people["assignee"], people["manager"]])

    # savepoint, the claim + update + history (one statement on PostgreSQL, three elsewhere),
    # recipients with their preferences, notification insert, live event insert, webhook
    # listeners, release
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 9):
        assert task_expire_overdue() == overdue

    assert Notification.objects.count() == 3 * overdue


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_fail_each_task_exactly_once(people, monkeypatch):
    """Two runs at once, each on its own PostgreSQL connection, overlapping while locks are held."""
    tasks = make_overdue(300, creator=people["creator"], assignees=[people["assignee"]])
    start = threading.Barrier(2)
    progressed = threading.Condition()
    steps = []
    local = threading.local()
    results, errors = [], []
    original_notify = expiry.notify_tasks_expired

    def step():
        with progressed:
            steps.append(1)
            progressed.notify_all()

    def notify_when_both_claimed(**kwargs):
        # Keep this run's transaction (and its row locks) open until the other run has
        # claimed rows too or finished without any; a run that blocked on our locks
        # instead would make this wait time out.
        local.claimed = True
        step()
        with progressed:
            assert progressed.wait_for(lambda: len(steps) >= 2, timeout=30), "the other run blocked"
        return original_notify(**kwargs)

    def run():
        local.claimed = False
        try:
            start.wait(timeout=10)
            results.append(task_expire_overdue())
        except Exception as exc:  # re-raised through the assertion below
            errors.append(exc)
        finally:
            if not local.claimed:
                step()
            connection.close()

    monkeypatch.setattr(expiry, "notify_tasks_expired", notify_when_both_claimed)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(results) == 2 and sum(results) == 300
    per_task = Counter(TaskStatusHistory.objects.values_list("task_id", flat=True))
    assert per_task == {task.id: 1 for task in tasks}
    per_recipient = Counter(Notification.objects.values_list("task_id", "recipient_id"))
    assert len(per_recipient) == 600
    assert set(per_recipient.values()) == {1}


@pytest.mark.django_db
def test_reminder_goes_to_assignees_once_per_due_date(people, settings):
    settings.TASK_REMINDER_BEFORE = timedelta(hours=24)
    task = TaskFactory(creator=people["creator"], assignees=[people["assignee"], people["manager"]],
                       due_date=timezone.now() + 2 * HOUR)

    assert task_send_due_reminders() == 1
    assert task_send_due_reminders() == 0

    reminders = Notification.objects.filter(kind="reminder", task=task)
    assert sorted(reminders.values_list("recipient__email", flat=True)) == [
        "assignee@example.com", "manager@example.com"
    ]
    task.refresh_from_db()
    assert task.reminder_sent_for == task.due_date


@pytest.mark.django_db
def test_moving_the_due_date_re_arms_the_reminder(people):
    task = TaskFactory(creator=people["creator"], assignees=[people["assignee"]], due_date=timezone.now() + HOUR)
    task_send_due_reminders()

    Task.objects.filter(id=task.id).update(due_date=timezone.now() + 3 * HOUR)

    assert task_send_due_reminders() == 1
    assert Notification.objects.filter(kind="reminder", recipient=people["assignee"]).count() == 2


@pytest.mark.django_db
def test_no_reminder_outside_the_window_or_for_closed_or_unassigned_tasks(people, settings):
    settings.TASK_REMINDER_BEFORE = timedelta(hours=24)
    soon = timezone.now() + HOUR
    far = TaskFactory(creator=people["creator"], assignees=[people["assignee"]], due_date=timezone.now() + 48 * HOUR)
    TaskFactory(creator=people["creator"], assignees=[people["assignee"]], due_date=soon, status=Task.Status.DONE)
    TaskFactory(creator=people["creator"], assignees=[people["assignee"]], due_date=timezone.now() - HOUR)
    unassigned = TaskFactory(creator=people["creator"], due_date=soon)

    assert task_send_due_reminders() == 0

    unassigned.assignees.add(people["assignee"])
    assert task_send_due_reminders() == 1
    assert Notification.objects.get().task_id == unassigned.id
    far.refresh_from_db()
    assert far.reminder_sent_for is None


@pytest.mark.django_db
@pytest.mark.parametrize("due", [1, 1000])
def test_reminders_run_a_fixed_number_of_queries(people, django_assert_max_num_queries, due):
    tasks = Task.objects.bulk_create(
        Task(title=f"Soon {i}", creator=people["creator"], due_date=timezone.now() + HOUR) for i in range(due)
    )
    Task.assignees.through.objects.bulk_create(
        Task.assignees.through(task_id=task.id, user_id=people["assignee"].id) for task in tasks
    )

    # savepoint, claim, update, recipients, their notification preferences, notification insert, release,
    # and live's event log (its writer lock on PostgreSQL, one INSERT: live/receivers.py)
    with django_assert_max_num_queries(9):
        assert task_send_due_reminders() == due


@pytest.mark.django_db
def test_beat_schedule_is_in_the_database_once_even_if_synced_again():
    beat_schedule_sync()
    beat_schedule_sync()

    entries = {t.name: t for t in PeriodicTask.objects.select_related("interval", "crontab")}
    expire = entries["tasks.expire_overdue"]
    assert expire.task == "tasks.tasks.expire_overdue_tasks_task"
    assert (expire.interval.every, expire.interval.period) == (1, "minutes")
    assert entries["tasks.send_due_reminders"].task == "tasks.tasks.send_due_reminders_task"
    assert entries["notifications.sweep_email_outbox"].task == "notifications.tasks.sweep_email_outbox_task"
    cleanup = entries["celery.backend_cleanup"].crontab
    assert (cleanup.minute, cleanup.hour) == ("0", "4")
    assert PeriodicTask.objects.filter(name="tasks.expire_overdue").count() == 1


@pytest.mark.django_db
def test_the_scheduled_task_names_exist():
    from config.celery import app

    app.loader.import_default_modules()
    for name, task, *_ in BEAT_SCHEDULE:
        assert task in app.tasks, name


@pytest.mark.django_db
def test_inactive_people_are_not_told_about_expiry(people):
    gone = UserFactory(is_active=False)
    make_overdue(1, creator=people["creator"], assignees=[gone])

    task_expire_overdue()

    assert list(Notification.objects.values_list("recipient", flat=True)) == [people["creator"].id]
