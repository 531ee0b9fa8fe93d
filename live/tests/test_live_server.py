"""The stream from real servers: gunicorn (threads) and uvicorn (event loop), a real worker,
and clients that disconnect and reconnect with Last-Event-ID as EventSource does."""

import os
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from rest_framework.authtoken.models import Token

from conftest import database_url_for_subprocess, wait_for
from core.tests.conftest import BASE_DIR, free_port, running_gunicorn
from live.models import Event
from live.selectors import events_after
from tasks import services as task_services
from tasks.tests.factories import TaskFactory

from .sse import SSEClient, follow

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def server_env(**extra):
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "LIVE_STREAM_SECONDS": "4",
        "LIVE_HEARTBEAT_SECONDS": "1",
        "GUNICORN_ACCESS_LOG": "",
        # One gunicorn worker whose share of threads (8) is more than a user's cap (4).
        "GUNICORN_THREADS": "16",
        **extra,
    }


@contextmanager
def running_uvicorn(tmp_path, env):
    """The `events` process of Procfile.dev / docker-compose.yml: uvicorn over config.asgi."""
    port = free_port()
    log = open(tmp_path / "uvicorn.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.events_server", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return urllib.request.urlopen(f"{base}/api/v1/health/", timeout=2).status == 200
        except OSError:
            return proc.poll() is not None

    try:
        wait_for(up, timeout=60, interval=0.2, message="uvicorn")
        assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.fixture(params=["gunicorn", "uvicorn"])
def server(request, tmp_path):
    env = server_env()
    if request.param == "gunicorn":
        with running_gunicorn(tmp_path, env, "-w", "1") as (base, _):
            yield base
    else:
        with running_uvicorn(tmp_path, env) as base:
            yield base


def expected_for(user, after):
    return [e.id for e in events_after(user=user, after=after, upto=2**62, limit=10_000)]


def test_a_client_that_disconnects_and_reconnects_misses_nothing(server, people):
    reader, writer = people["assignee"], people["creator"]
    token = Token.objects.create(user=reader).key
    task = TaskFactory(creator=writer, department=people["dept_a"])
    task_services.task_assign(task=task, assignees=[reader], by=writer)

    first = SSEClient(server, token=token)
    assert first.status == 200 and first.response.getheader("Content-Type") == "text/event-stream"
    first.events(until=lambda _: first.last_event_id is not None, deadline=5)
    start = first.last_event_id
    assert first.retry_ms == 2000 and start is not None

    stop = threading.Event()

    def keep_changing():
        try:
            n = 0
            while not stop.is_set():
                n += 1
                task_services.task_update(task=task, by=writer, title=f"Change {n}")  # task.updated + notification
                time.sleep(0.05)
        finally:
            connections.close_all()

    changer = threading.Thread(target=keep_changing)
    changer.start()
    received = []
    try:
        received += [e[0] for e in first.events(until=lambda events: len(events) >= 3, deadline=10)]
        first.close()  # the client goes away mid-stream
        last = first.last_event_id
        time.sleep(0.5)  # changes go on while it is away
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # EventSource: reconnect from the last id seen, stream after stream
            client = SSEClient(server, token=token, last_event_id=last)
            assert client.status == 200
            received += [e[0] for e in client.events(deadline=3)]
            last = client.last_event_id
            client.close()
    finally:
        stop.set()
        changer.join(10)
    # What was written until the writer stopped, the next reconnections collect.
    newest = Event.objects.latest("id").id
    while last < newest:
        tail = SSEClient(server, token=token, last_event_id=last)
        received += [e[0] for e in tail.events(until=lambda _, tail=tail: tail.last_event_id >= newest, deadline=3)]
        assert tail.last_event_id > last or tail.last_event_id == newest, "a stream made no progress"
        last = tail.last_event_id
        tail.close()
    expected = expected_for(reader, start)
    assert len(expected) > 20
    assert received == expected  # nothing missed, nothing twice, in order


def test_a_finished_execution_reaches_its_owner_through_a_real_worker(server, people, celery_worker, api_client):
    from task_api.tests.factories import grant

    owner = grant(people["assignee"], "task_api.run_benchmarks")
    token = Token.objects.create(user=owner).key
    other_token = Token.objects.create(user=people["ceo"]).key
    other = SSEClient(server, token=other_token)
    stream = SSEClient(server, token=token)
    stream.events(until=lambda _: stream.last_event_id is not None, deadline=5)
    other.events(until=lambda _: other.last_event_id is not None, deadline=5)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.post("/api/v1/task-api/execute/", {"task_name": "task_api.tasks.add", "args": [2, 3]},
                               format="json")
    assert response.status_code == 202
    execution_id = response.json()["execution_id"]
    events, _ = follow(server, token=token, last_event_id=stream.last_event_id,
                       until=lambda events: any(kind == "execution.updated" for _, kind, _ in events))
    (update,) = [data for _, kind, data in events if kind == "execution.updated"]
    assert (update["id"], update["status"], update["task_name"]) == (execution_id, "SUCCESS", "task_api.tasks.add")
    assert update["completed_at"]
    stream.close()
    other.close()
    assert [kind for _, kind, _ in follow(server, token=other_token, last_event_id=other.last_event_id,
                                          until=lambda _: False, deadline=2)[0]] == []


def test_the_fifth_open_stream_of_a_user_is_refused_and_others_are_not(server, people):
    token = Token.objects.create(user=people["assignee"]).key
    streams = [SSEClient(server, token=token) for _ in range(4)]
    try:
        assert [s.status for s in streams] == [200] * 4
        fifth = SSEClient(server, token=token)
        assert fifth.status == 429 and fifth.response.getheader("Retry-After") == "5"
        assert "long-polls open" in fifth.response.read().decode()
        other = SSEClient(server, token=Token.objects.create(user=people["creator"]).key)
        assert other.status == 200
        other.close()
    finally:
        for s in streams:
            s.close()


def test_a_client_that_leaves_frees_its_slot_before_its_stream_would_end(server, people):
    """uvicorn sees the disconnection at once; gunicorn at the stream's next write (a heartbeat)."""
    token = Token.objects.create(user=people["assignee"]).key
    streams = [SSEClient(server, token=token) for _ in range(4)]
    assert [s.status for s in streams] == [200] * 4
    for s in streams:
        s.close()
    left = time.monotonic()

    # Watch the slots themselves (the server's shared cache is this Redis): opening streams to
    # probe would take slots of their own, each freed only at its own next heartbeat.
    shared = caches["shared"]
    slots = [f"long-poll:{people['assignee'].pk}:{index}" for index in range(settings.LONG_POLL_PER_USER)]
    wait_for(lambda: not any(shared.get(key) for key in slots), timeout=3.5, interval=0.1,
             message="the slots of the streams that were closed")
    assert time.monotonic() - left < 4  # LIVE_STREAM_SECONDS: freed by the disconnection, not the end

    again = [SSEClient(server, token=token) for _ in range(4)]
    try:
        assert [s.status for s in again] == [200] * 4
    finally:
        for s in again:
            s.close()
