"""core.bulk.insert writes what bulk_create writes, in one statement, ids in the objects' order."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction

from accounts.tests.factories import UserFactory
from core import bulk
from live.models import Event
from notifications.models import Notification

pytestmark = pytest.mark.django_db

COLUMNS = ["recipient_id", "kind", "task_id", "actor_id", "message", "in_app", "read_at", "email_status", "created_at"]


def notifications(recipient, count, **values):
    return [
        Notification(recipient=recipient, kind="expired", message=f"“Task {n}” — passed ☂", in_app=n % 2 == 0, **values)
        for n in range(count)
    ]


def test_rows_match_bulk_create_and_ids_follow_the_objects(django_assert_num_queries):
    recipient = UserFactory()
    read_at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ours = notifications(recipient, 5, read_at=read_at)
    theirs = notifications(recipient, 5, read_at=read_at)

    with django_assert_num_queries(1):
        stored = bulk.insert(ours, using="default")
    Notification.objects.bulk_create(theirs)

    assert stored == ours and all(n.pk and not n._state.adding and n._state.db == "default" for n in ours)
    assert [n.pk for n in ours] == sorted(n.pk for n in ours)
    by_id = Notification.objects.in_bulk([n.pk for n in ours + theirs])
    for mine, reference in zip(ours, theirs, strict=True):
        assert by_id[mine.pk].message == mine.message  # the row under each id is that object's
        mine_row = {c: getattr(by_id[mine.pk], c) for c in COLUMNS if c != "created_at"}
        assert mine_row == {c: getattr(by_id[reference.pk], c) for c in COLUMNS if c != "created_at"}
        # created_at as the object holds it, to the microsecond (no JSON encoder's rounding).
        assert by_id[mine.pk].created_at == mine.created_at


def test_json_fields_are_stored_as_their_encoder_writes_them():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    data = {"at": moment, "nested": {"list": [1, None, "x"]}}
    ours = [Event(kind=Event.Kind.TASK_UPDATED, data=data), Event(kind=Event.Kind.TASK_UPDATED, data={"n": 2})]
    theirs = Event.objects.bulk_create([Event(kind=Event.Kind.TASK_UPDATED, data=data)])

    bulk.insert(ours, using="default")

    assert Event.objects.get(pk=ours[0].pk).data == Event.objects.get(pk=theirs[0].pk).data
    assert Event.objects.get(pk=ours[1].pk).data == {"n": 2}
    assert Event.objects.get(pk=ours[0].pk).user_id is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce a varchar's length")
def test_a_value_too_long_for_its_column_is_refused_not_cut():
    too_long = notifications(UserFactory(), 1)
    too_long[0].kind = "x" * 17  # varchar(16)

    with pytest.raises(DataError), transaction.atomic():
        bulk.insert(too_long, using="default")


def test_nothing_to_insert_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk.insert([], using="default") == []
