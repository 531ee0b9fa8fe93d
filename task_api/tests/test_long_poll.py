"""`?wait=` long-polls: woken by the worker's announcement through one subscription per process."""

import os
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone

from task_api import events, selectors
from task_api.models import TaskExecution
from task_api.services import lifecycle
from task_api.tests.factories import TaskExecutionFactory

LIST_URL = "/api/v1/task-api/executions/"
Status = TaskExecution.Status


@pytest.fixture
def fresh_watcher(monkeypatch):
    """A new FinishWatcher for the test (any earlier one stopped), stopped afterwards."""
    if events._watcher is not None:
        events._watcher.stop()
    monkeypatch.setattr(events, "_client", None)
    monkeypatch.setattr(events, "_watcher", None)
    yield
    if events._watcher is not None:
        events._watcher.stop()


def running(user):
    return TaskExecutionFactory(user=user, status=Status.STARTED, started_at=timezone.now())


def long_poll(client, execution, results, wait=10):
    started = time.monotonic()
    try:
        body = client.get(f"{LIST_URL}{execution.pk}/", {"wait": wait}).json()
        results[execution.pk] = (body, time.monotonic() - started)
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()


def finish_later(execution, result, delay=0.3):
    """Finish `execution` from another thread, as a worker would, after `delay` seconds."""

    def finish():
        try:
            lifecycle.execution_succeeded(execution_id=execution.pk, result=result)
        finally:
            connections.close_all()

    timer = threading.Timer(delay, finish)
    timer.start()
    return timer


@pytest.mark.parametrize("use_redis", [False, pytest.param(True, marks=pytest.mark.services)])
@pytest.mark.django_db(transaction=True)
def test_wait_returns_when_another_process_finishes_the_run(runner, client_for, settings, fresh_watcher, use_redis):
    if not use_redis:
        settings.REDIS_URL = ""
    execution = running(runner)
    finisher = finish_later(execution, 42)
    results = {}
    try:
        long_poll(client_for(runner), execution, results)
    finally:
        finisher.join()

    body, _ = results[execution.pk]
    assert (body["status"], body["result"], body["is_complete"]) == ("SUCCESS", 42, True)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_waiting_requests_share_one_subscription_and_wake_on_the_announcement(
    runner, client_for, fresh_watcher, monkeypatch
):
    # Without the announcement nothing would re-read the rows before the 10 s deadline.
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 60)
    executions = [running(runner) for _ in range(4)]
    results = {}
    threads = [
        threading.Thread(target=long_poll, args=(client_for(runner), execution, results)) for execution in executions
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(events._watcher._waiters if events._watcher else ()) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    subscriptions = [
        client
        for client in redis.Redis.from_url(settings.REDIS_URL).client_list(_type="pubsub")
        if client["name"] == f"taskhub-finish-watcher-{os.getpid()}"
    ]

    for execution in executions:
        lifecycle.execution_succeeded(execution_id=execution.pk, result=str(execution.pk))
    for thread in threads:
        thread.join(15)

    assert [client["sub"] for client in subscriptions] == ["1"]
    for execution in executions:
        body, elapsed = results[execution.pk]
        assert (body["status"], body["result"]) == ("SUCCESS", str(execution.pk))
        assert elapsed < 5, "woken by the deadline, not by the announcement"
    assert events._watcher._waiters == {}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_subscription_comes_back_after_redis_drops_it(runner, client_for, fresh_watcher, monkeypatch):
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 60)
    monkeypatch.setattr(events, "RECONNECT_DELAY", 0.1)
    watcher = events.watcher()
    assert watcher.subscribed
    redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_type="pubsub", skipme=True)
    deadline = time.monotonic() + 10
    while not watcher.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    while redis.Redis.from_url(settings.REDIS_URL).pubsub_numsub(events._channel())[0][1] < 1:
        assert time.monotonic() < deadline, "never re-subscribed"
        time.sleep(0.01)

    execution = running(runner)
    finisher = finish_later(execution, 1)
    results = {}
    try:
        long_poll(client_for(runner), execution, results)
    finally:
        finisher.join()

    body, elapsed = results[execution.pk]
    assert body["status"] == "SUCCESS"
    assert elapsed < 5, "woken by the deadline, not by the announcement"


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_a_wait_still_sees_the_finish(runner, client_for, settings, fresh_watcher, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(events, "SUBSCRIBE_TIMEOUT", 0.1)
    execution = running(runner)
    finisher = finish_later(execution, 7)
    results = {}
    try:
        long_poll(client_for(runner), execution, results, wait=5)
    finally:
        finisher.join()

    body, _ = results[execution.pk]
    assert (body["status"], body["result"]) == ("SUCCESS", 7)
