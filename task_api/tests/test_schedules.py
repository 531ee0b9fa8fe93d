import json

import pytest
from django.contrib.auth.models import Permission
from django_celery_beat.models import PeriodicTask

from accounts.tests.factories import UserFactory
from task_api import services
from task_api.models import TaskExecution, TaskSchedule
from task_api.services.schedules import RUN_SCHEDULED_TASK
from task_api.tests.factories import grant

URL = "/api/v1/task-api/schedules/"
ADD = {"task_name": "task_api.tasks.add", "args": [1, 2], "kwargs": {}}


def create(client, **body):
    return client.post(URL, {**ADD, **body}, format="json")


def test_create_interval_schedule_stores_a_beat_entry(runner, client_for):
    response = create(client_for(runner), interval={"every": 30, "period": "seconds"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["interval"] == {"every": 30, "period": "seconds"}
    assert (body["crontab"], body["enabled"], body["task_name"]) == (None, True, "task_api.tasks.add")
    schedule = TaskSchedule.objects.get(pk=body["id"])
    periodic = schedule.periodic_task
    assert periodic.task == RUN_SCHEDULED_TASK
    assert json.loads(periodic.kwargs) == {"schedule_id": body["id"]}
    assert schedule.user == runner


def test_create_crontab_schedule(runner, client_for):
    response = create(client_for(runner), crontab={"minute": "0", "hour": "7", "day_of_week": "1-5"})

    assert response.status_code == 201, response.json()
    assert response.json()["crontab"] == {
        "minute": "0",
        "hour": "7",
        "day_of_week": "1-5",
        "day_of_month": "*",
        "month_of_year": "*",
    }


@pytest.mark.parametrize(
    "body, problem",
    [
        ({}, "exactly one"),
        ({"interval": {"every": 1, "period": "hours"}, "crontab": {"minute": "0"}}, "exactly one"),
        ({"interval": {"every": 2, "period": "seconds"}}, "shortest interval"),
        ({"interval": {"every": 0, "period": "hours"}}, "greater than or equal to 1"),
        ({"interval": {"every": 1, "period": "fortnights"}}, "not a valid choice"),
        ({"crontab": {"minute": "99"}}, "minute"),
        ({"args": [1], "interval": {"every": 1, "period": "hours"}}, "missing a required argument"),
    ],
)
def test_invalid_schedules_answer_400(runner, client_for, body, problem):
    response = create(client_for(runner), **body)

    assert response.status_code == 400
    assert problem in json.dumps(response.json())
    assert not PeriodicTask.objects.filter(task=RUN_SCHEDULED_TASK).exists()


def test_schedule_needs_the_task_permissions(db, client_for):
    response = create(client_for(UserFactory()), interval={"every": 1, "period": "hours"})

    assert response.status_code == 403


def test_list_shows_only_own_schedules(runner, client_for, django_assert_max_num_queries):
    other = grant(UserFactory(), "task_api.run_benchmarks")
    services.schedule_create(
        user=other, task_name="task_api.tasks.add", args=[1, 1], kwargs={}, interval={"every": 1, "period": "hours"}
    )
    for _ in range(3):
        create(client_for(runner), interval={"every": 1, "period": "hours"})
    client = client_for(runner)

    for page_size in (1, 100):
        with django_assert_max_num_queries(2):
            body = client.get(URL, {"page_size": page_size}).json()
        assert body["count"] == 3
    theirs = TaskSchedule.objects.get(user=other)
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.patch(f"{URL}{theirs.pk}/", {"enabled": False}, format="json").status_code == 404
    assert client.delete(f"{URL}{theirs.pk}/").status_code == 404


def test_patch_pauses_and_resumes(runner, client_for):
    client = client_for(runner)
    schedule_id = create(client, interval={"every": 1, "period": "hours"}).json()["id"]

    paused = client.patch(f"{URL}{schedule_id}/", {"enabled": False}, format="json")
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert PeriodicTask.objects.get(task_api_schedule=schedule_id).enabled is False

    resumed = client.patch(f"{URL}{schedule_id}/", {"enabled": True}, format="json")
    assert resumed.json()["enabled"] is True
    assert PeriodicTask.objects.get(task_api_schedule=schedule_id).enabled is True

    refused = client.patch(f"{URL}{schedule_id}/", {"enabled": True, "task_name": "x"}, format="json")
    assert refused.status_code == 400 and "task_name" in json.dumps(refused.json())


def test_delete_removes_the_beat_entry(runner, client_for):
    client = client_for(runner)
    schedule_id = create(client, interval={"every": 1, "period": "hours"}).json()["id"]

    assert client.delete(f"{URL}{schedule_id}/").status_code == 204
    assert not TaskSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task=RUN_SCHEDULED_TASK).exists()


def test_each_firing_creates_an_execution_owned_by_the_schedule_owner(runner, sent, django_capture_on_commit_callbacks):
    schedule = services.schedule_create(
        user=runner, task_name="task_api.tasks.add", args=[2, 3], kwargs={}, interval={"every": 1, "period": "hours"}
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = services.schedule_fire(schedule_id=schedule.pk)
        second = services.schedule_fire(schedule_id=schedule.pk)

    assert first.pk != second.pk
    assert (first.user, first.schedule, first.args, first.status) == (runner, schedule, [2, 3], "PENDING")
    assert [m["task_id"] for m in sent] == [first.celery_task_id, second.celery_task_id]


def test_firing_rechecks_permissions(runner, sent):
    schedule = services.schedule_create(
        user=runner, task_name="task_api.tasks.add", args=[2, 3], kwargs={}, interval={"every": 1, "period": "hours"}
    )
    runner.user_permissions.remove(Permission.objects.get(codename="run_benchmarks"))

    assert services.schedule_fire(schedule_id=schedule.pk) is None
    assert not TaskExecution.objects.exists()


def test_firing_a_deleted_schedule_does_nothing(db):
    assert services.schedule_fire(schedule_id="00000000-0000-0000-0000-000000000000") is None


@pytest.fixture
def beat_scheduler(monkeypatch):
    """The scheduler `celery beat` builds from the settings, in this process (nothing sent)."""
    from celery import current_app
    from celery.utils.imports import symbol_by_name
    from django_celery_beat import schedulers

    # Beat runs in autocommit and closes stale connections before writing; here that would
    # close the test's transaction.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    return symbol_by_name(current_app.conf.beat_scheduler)(app=current_app, lazy=True)


def test_each_beat_firing_is_counted_on_the_schedule_at_once(runner, client_for, monkeypatch, beat_scheduler):
    """What beat does at each firing, minus the broker: the counters reach the row (and the API)
    before the next firing, not at beat's next 3-minute sync."""
    from celery import current_app

    client = client_for(runner)
    schedule_id = create(client, interval={"every": 1, "period": "hours"}).json()["id"]
    sent = []
    monkeypatch.setattr(current_app.tasks[RUN_SCHEDULED_TASK], "apply_async", lambda *a, **kw: sent.append(kw))
    scheduler = beat_scheduler
    name = PeriodicTask.objects.get(task_api_schedule=schedule_id).name

    for expected in (1, 2, 3):
        scheduler.apply_async(scheduler.schedule[name])

        body = client.get(f"{URL}{schedule_id}/").json()
        assert body["total_run_count"] == expected
        assert body["last_run_at"] is not None
    assert len(sent) == 3


def test_beat_writes_only_its_counters_so_a_pause_saved_meanwhile_stands(
    runner, client_for, monkeypatch, beat_scheduler, django_assert_num_queries
):
    """The library's write re-read the row and saved every column: a pause landing between its
    read and its write was undone. One UPDATE of the counters cannot undo anything."""
    from celery import current_app

    client = client_for(runner)
    schedule_id = create(client, interval={"every": 1, "period": "hours"}).json()["id"]
    monkeypatch.setattr(current_app.tasks[RUN_SCHEDULED_TASK], "apply_async", lambda *a, **kw: None)
    scheduler = beat_scheduler
    entry = next(scheduler.schedule[PeriodicTask.objects.get(task_api_schedule=schedule_id).name])
    # Paused through the API after beat loaded the entry, before beat writes its counters.
    assert client.patch(f"{URL}{schedule_id}/", {"enabled": False}, format="json").status_code == 200

    with django_assert_num_queries(1) as captured:
        entry.save()

    assert "enabled" not in captured.captured_queries[0]["sql"]
    body = client.get(f"{URL}{schedule_id}/").json()
    assert (body["enabled"], body["total_run_count"]) == (False, 1)
