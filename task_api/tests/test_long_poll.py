"""`?wait=` long-polls: woken by the worker's announcement through one subscription per process."""

import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conftest import database_url_for_subprocess, wait_for
from core import pubsub
from core.tests.conftest import running_gunicorn
from task_api import events, selectors
from task_api.models import TaskExecution
from task_api.services import lifecycle
from task_api.tests.factories import TaskExecutionFactory

LIST_URL = "/api/v1/task-api/executions/"
Status = TaskExecution.Status


def watcher_subscriptions(pid):
    """The Redis pubsub connections of process `pid`'s FinishWatcher."""
    return [
        client
        for client in redis.Redis.from_url(settings.REDIS_URL).client_list(_type="pubsub")
        if client["name"] == f"taskhub-finish-watcher-{pid}"
    ]


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


def long_polls_waiting(client_for, user, executions, results) -> list[threading.Thread]:
    """One `?wait=` request per execution, each in a thread, returned once all are waiting."""
    threads = [
        threading.Thread(target=long_poll, args=(client_for(user), execution, results)) for execution in executions
    ]
    for thread in threads:
        thread.start()
    wait_for(lambda: events._watcher and len(events._watcher._waiters) == len(executions), timeout=10,
             interval=0.01, message=f"{len(executions)} waiting requests")
    return threads


def long_poll_while_it_finishes(client, execution, result, wait=10):
    """(body, seconds) of a `?wait=` request during which another thread finishes the run."""
    finisher = finish_later(execution, result)
    results = {}
    try:
        long_poll(client, execution, results, wait=wait)
    finally:
        finisher.join()
    return results[execution.pk]


@pytest.mark.parametrize("use_redis", [False, pytest.param(True, marks=pytest.mark.services)])
@pytest.mark.django_db(transaction=True)
def test_wait_returns_when_another_process_finishes_the_run(runner, client_for, settings, fresh_watcher, use_redis):
    if not use_redis:
        settings.REDIS_URL = ""
    execution = running(runner)

    body, _ = long_poll_while_it_finishes(client_for(runner), execution, 42)

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
    threads = long_polls_waiting(client_for, runner, executions, results)
    subscriptions = watcher_subscriptions(os.getpid())

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
    assert events._watcher._details == {}  # the announced details go with their waiters


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_malformed_announcement_detail_makes_the_waiter_read_the_row(
    runner, client_for, fresh_watcher, monkeypatch
):
    """Whatever else is published on the channel, the answer is the row's: a detail that is not
    the finish fields (not JSON, a field missing, a bad date) is only a hint to read it now."""
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 60)
    executions = [running(runner) for _ in range(3)]
    results = {}
    threads = long_polls_waiting(client_for, runner, executions, results)

    TaskExecution.objects.filter(pk__in=[e.pk for e in executions]).update(
        status=Status.SUCCESS, result=7, completed_at=timezone.now()
    )
    client = redis.Redis.from_url(settings.REDIS_URL)
    bad = ["not json", '{"status": "SUCCESS"}', '{"status": "SUCCESS", "result": 1, "error": null, "traceback": null,'
           ' "started_at": "yesterday", "completed_at": null, "progress": null}']
    for execution, detail in zip(executions, bad, strict=True):
        client.publish(events._channel(), f"{execution.pk}\n{detail}")
    for thread in threads:
        thread.join(15)

    for execution in executions:
        body, elapsed = results[execution.pk]
        assert (body["status"], body["result"]) == ("SUCCESS", 7)
        assert elapsed < 5, "woken by the deadline, not by the announcement"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_subscription_comes_back_after_redis_drops_it(runner, client_for, fresh_watcher, monkeypatch):
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 60)
    monkeypatch.setattr(pubsub, "RECONNECT_DELAY", 0.1)
    server = redis.Redis.from_url(settings.REDIS_URL)
    watcher = events.watcher()
    assert watcher.subscribed
    server.client_kill_filter(_type="pubsub", skipme=True)
    wait_for(lambda: server.pubsub_numsub(events._channel())[0][1] == 0, timeout=5, interval=0.01, message="the kill")
    wait_for(lambda: server.pubsub_numsub(events._channel())[0][1] == 1 and watcher.subscribed, timeout=10,
             interval=0.01, message="the subscription to come back")

    body, elapsed = long_poll_while_it_finishes(client_for(runner), running(runner), 1)

    assert body["status"] == "SUCCESS"
    assert elapsed < 5, "woken by the deadline, not by the announcement"


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_a_wait_still_sees_the_finish(runner, client_for, settings, fresh_watcher, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(pubsub, "SUBSCRIBE_TIMEOUT", 0.1)
    execution = running(runner)

    body, _ = long_poll_while_it_finishes(client_for(runner), execution, 7, wait=5)

    assert (body["status"], body["result"]) == ("SUCCESS", 7)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_under_the_shipped_gunicorn_config_a_long_poll_holds_a_thread_not_the_process(runner, tmp_path):
    token = Token.objects.create(user=runner).key
    execution = running(runner)
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "WEB_CONCURRENCY": "1", "DJANGO_DEBUG": "false"}
    results = {}

    with running_gunicorn(tmp_path, env) as (base, web):

        def get(path):
            request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Token {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())

        worker_pid = int(subprocess.check_output(["pgrep", "-P", str(web.pid)]).split()[0])
        waiter = threading.Thread(target=lambda: results.update(poll=get(f"{LIST_URL}{execution.pk}/?wait=20")))
        waiter.start()
        wait_for(lambda: watcher_subscriptions(worker_pid), timeout=10, interval=0.05,
                 message="the long-poll to start waiting")

        health = get("/api/v1/health/")
        still_waiting = waiter.is_alive()
        lifecycle.execution_succeeded(execution_id=execution.pk, result=5)
        waiter.join(15)

    assert health[0] == 200
    assert still_waiting, "the health check queued behind the long-poll"
    status, body = results["poll"]
    assert (status, body["status"], body["result"]) == (200, "SUCCESS", 5)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_long_poll_reads_the_row_once_before_the_finish_and_answers_from_its_announcement(
    runner, client_for, fresh_watcher, django_assert_num_queries
):
    """The announcement carries what the finish changed, so the answer needs no second read;
    it is the answer a read of the row gives."""
    execution = running(runner)
    client = client_for(runner)
    results = {}

    finisher = finish_later(execution, {"b": [1, 2.5], "a": "x", "long key": None})
    try:
        with django_assert_num_queries(1):
            long_poll(client, execution, results)
    finally:
        finisher.join()

    body = results[execution.pk][0]
    assert (body["status"], body["result"]) == ("SUCCESS", {"b": [1, 2.5], "a": "x", "long key": None})
    assert body == client.get(f"{LIST_URL}{execution.pk}/").json()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outcome", ["failure", "too large to announce"])
def test_a_long_poll_answers_as_a_read_of_the_row_would(runner, client_for, fresh_watcher, outcome):
    """A failure as staff see it (traceback, error), and a result past ANNOUNCED_DETAIL_MAX_BYTES
    (announced by id alone, so the row is read): both answer what GET answers afterwards."""
    runner.is_staff = True  # staff see the traceback of their own executions
    runner.save(update_fields=["is_staff"])
    execution = running(runner)
    client = client_for(runner)
    results = {}

    def finish():
        try:
            if outcome == "failure":
                lifecycle.execution_failed(execution_id=execution.pk, exception=ValueError("no"), traceback="Traceback")
            else:
                big = "x" * (events.ANNOUNCED_DETAIL_MAX_BYTES + 1)
                lifecycle.execution_succeeded(execution_id=execution.pk, result=big)
        finally:
            connections.close_all()

    finisher = threading.Timer(0.3, finish)
    finisher.start()
    try:
        long_poll(client, execution, results)
    finally:
        finisher.join()

    body, elapsed = results[execution.pk]
    assert body["status"] == ("FAILURE" if outcome == "failure" else "SUCCESS")
    assert elapsed < 5, "woken by the deadline, not by the announcement"
    assert body == client.get(f"{LIST_URL}{execution.pk}/").json()
    if outcome == "failure":
        assert (body["error"], body["traceback"]) == ("ValueError: no", "Traceback")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_cancel_wakes_a_long_poll_at_once(runner, client_for, fresh_watcher, monkeypatch):
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 60)
    execution = TaskExecutionFactory(user=runner, status=Status.SCHEDULED, scheduled_at=timezone.now())

    def cancel():
        try:
            client_for(runner).post(f"{LIST_URL}{execution.pk}/cancel/")
        finally:
            connections.close_all()

    canceller = threading.Timer(0.3, cancel)
    canceller.start()
    results = {}
    try:
        long_poll(client_for(runner), execution, results)
    finally:
        canceller.join()

    body, elapsed = results[execution.pk]
    assert body["status"] == "REVOKED"
    assert elapsed < 5, "woken by the deadline, not by the announcement"
