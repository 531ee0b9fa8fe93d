"""GET /api/v1/events/ in process: format, replay, reset, limits and authentication."""

import re
import threading
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import api_key_create
from conftest import wait_for
from core.long_poll import long_poll_slot
from live.models import Event, PurgeMark
from live.services import events_purge, events_record
from live.streams import EventStream

from .conftest import events_in

URL = "/api/v1/events/"


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def status(response) -> int:
    """The status of a stream closed unread (as a server closes it when the client leaves).

    Closing fires request_finished; like Django's test client, keep its connection check off
    the test's transaction."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return response.status_code


def note(user, text="hello") -> Event:
    return events_record(events=[Event(kind="notification.created", user=user, data={"message": text})])[0]


@pytest.mark.django_db
def test_the_stream_is_server_sent_events_and_starts_now(people, client_for, short_streams):
    note(people["assignee"], "before")
    response = client_for(people["assignee"]).get(URL, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    text = body(response)
    assert text.startswith(f"retry: {short_streams.LIVE_RETRY_MS}\nid: ")
    assert events_in(text) == []


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["header", "query"])
def test_last_event_id_replays_what_came_after_it(people, client_for, short_streams, how):
    user = people["assignee"]
    seen = note(user, "seen")
    missed = [note(user, "one"), note(people["outsider"], "not mine"), note(user, "two")]
    client = client_for(user)
    if how == "header":
        response = client.get(URL, HTTP_LAST_EVENT_ID=str(seen.pk))
    else:
        response = client.get(URL, {"last_event_id": seen.pk})
    events = events_in(body(response))
    assert [(i, kind) for i, kind, _ in events] == [(missed[0].pk, "notification.created"),
                                                   (missed[2].pk, "notification.created")]
    assert events[0][2] == '{"message":"one"}'


@pytest.mark.django_db
def test_a_replay_comes_in_batches_and_ends_with_the_cursor(people, client_for, short_streams):
    short_streams.LIVE_BATCH_SIZE = 2
    user = people["assignee"]
    first = note(user, "0")
    later = [note(user, str(i)).pk for i in range(1, 6)]
    received, last_id = [], first.pk
    for _ in range(5):  # reconnecting as EventSource does, from the last id each stream gave
        text = body(client_for(user).get(URL, HTTP_LAST_EVENT_ID=str(last_id)))
        received += [i for i, _, _ in events_in(text)]
        last_id = int(re.findall(r"^id: (\d+)$", text, re.MULTILINE)[-1])
    assert received == later


@pytest.mark.django_db
def test_an_id_older_than_the_log_gets_a_reset_and_then_the_stream(people, client_for, short_streams):
    user = people["assignee"]
    old = note(user, "old")
    PurgeMark.objects.create(purged_through=old.pk + 1)
    text = body(client_for(user).get(URL, HTTP_LAST_EVENT_ID=str(old.pk)))
    (reset,) = events_in(text)
    assert reset[1] == "reset" and f'"last_event_id":{old.pk}' in reset[2]


@pytest.mark.django_db
def test_an_id_from_the_future_gets_a_reset(people, client_for, short_streams):
    text = body(client_for(people["assignee"]).get(URL, HTTP_LAST_EVENT_ID="999999999"))
    assert [kind for _, kind, _ in events_in(text)] == ["reset"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "-1", "9223372036854775808", "1.5"])
def test_a_bad_last_event_id_is_a_400_naming_it(people, client_for, value):
    response = client_for(people["assignee"]).get(URL, {"last_event_id": value})
    assert response.status_code == 400
    assert "last_event_id" in response.json()


@pytest.mark.django_db
def test_without_credentials_401_json(short_streams):
    response = APIClient().get(URL, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_every_scheme_of_the_api_streams_and_a_key_without_read_scope_is_403(people, short_streams):
    user = people["assignee"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert status(client.get(URL)) == 200
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='r', scopes=['read'])[1]}")
    assert status(client.get(URL)) == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    assert status(client.get(URL)) == 200
    client.credentials()
    client.force_login(user)  # the session (browsable API, admin)
    assert status(client.get(URL)) == 200
    client.logout()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='w', scopes=['write'])[1]}")
    response = client.get(URL)
    assert response.status_code == 403
    assert "read" in response.json()["detail"]


@pytest.mark.django_db
def test_the_fifth_stream_of_a_user_is_refused_with_retry_after(people, client_for, settings, short_streams):
    user = people["assignee"]
    settings.GUNICORN_THREADS = 32
    with ExitStack() as open_streams:
        for _ in range(settings.LONG_POLL_PER_USER):
            open_streams.enter_context(long_poll_slot(user, seconds=60))
        response = client_for(user).get(URL)
        assert response.status_code == 429
        assert response["Retry-After"] == "5"
    # The slots are back: a stream opens, and its own slot is freed when it ends.
    for _ in range(settings.LONG_POLL_PER_USER + 1):
        assert status(client_for(user).get(URL)) == 200


@pytest.mark.django_db
def test_a_stream_frees_its_slot_when_closed_unread(people, client_for, settings, short_streams):
    user = people["assignee"]
    for _ in range(settings.LONG_POLL_PER_USER * 2):
        assert status(client_for(user).get(URL)) == 200


@pytest.mark.django_db
def test_the_purge_deletes_what_is_older_than_the_retention_and_remembers_it(people, settings):
    settings.LIVE_EVENTS_RETENTION = 60  # below the floor: an hour is kept all the same
    user = people["assignee"]
    old, recent, new = note(user, "old"), note(user, "recent"), note(user, "new")
    now = timezone.now()
    Event.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=2))
    Event.objects.filter(pk=recent.pk).update(created_at=now - timedelta(minutes=50))
    assert events_purge(now=now) == 1
    assert set(Event.objects.filter(user=user).values_list("pk", flat=True)) == {recent.pk, new.pk}
    assert PurgeMark.objects.get().purged_through == old.pk
    assert events_purge(now=now) == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_after_a_higher_id_is_still_served(people):
    """Two overlapping transactions: the lower id commits last. The stream must neither skip
    it nor move its cursor (the Last-Event-ID it hands out) past it while it is open."""
    user = people["assignee"]
    start = note(user, "start")
    inserted, release = threading.Event(), threading.Event()
    slow = {}

    def slow_writer():
        try:
            with transaction.atomic():
                slow["event"] = note(user, "slow")
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(10)
        fast = note(user, "fast")  # commits now, with the higher id
        assert fast.pk > slow["event"].pk
        stream = EventStream(user=user, last_event_id=start.pk, seconds=10)
        stream.open()
        text, again = stream.read()
        assert text == "" and again, "served past an id still being written"
        assert stream.cursor < slow["event"].pk and "id: " not in stream.beat()[len(": keep"):]
    finally:
        release.set()
        writer.join(10)
    text = wait_for(lambda: stream.read()[0], timeout=5, interval=0.05, message="the held-back events")
    assert [i for i, _, _ in events_in(text)] == [slow["event"].pk, fast.pk]
    # A client reconnecting from the last id it received misses neither.
    assert stream.cursor == fast.pk


@pytest.mark.django_db
def test_beat_purges_through_the_registered_task(people, settings):
    from config.beat import BEAT_SCHEDULE
    from live.tasks import purge_events_task

    (entry,) = [e for e in BEAT_SCHEDULE if e.task == purge_events_task.name]
    assert entry.schedule == {"every": 10, "period": "minutes"}
    old = note(people["assignee"], "old")
    expired = timezone.now() - timedelta(seconds=settings.LIVE_EVENTS_RETENTION + 1)
    Event.objects.filter(pk=old.pk).update(created_at=expired)
    assert purge_events_task.apply().get() == 1
    assert not Event.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_a_silent_stream_sends_heartbeats_and_ends_with_the_cursor(people, client_for, short_streams):
    short_streams.LIVE_STREAM_SECONDS, short_streams.LIVE_HEARTBEAT_SECONDS = 0.5, 0.1
    user = people["assignee"]
    start = note(user, "before")
    note(people["outsider"], "not mine")  # moves the cursor past it without an event
    text = body(client_for(user).get(URL, HTTP_LAST_EVENT_ID=str(start.pk)))
    assert text.count(": keep-alive\n\n") >= 2
    assert events_in(text) == []
    assert re.findall(r"^id: (\d+)$", text, re.MULTILINE)[-1] == str(Event.objects.latest("id").pk)
