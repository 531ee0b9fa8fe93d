"""core.pubsub.publish and batched_publishes: hints to Redis, several in one round trip."""

import logging
import time

import pytest
import redis
from django.conf import settings

from core import pubsub

pytestmark = pytest.mark.services


@pytest.fixture
def subscriber():
    client = redis.Redis.from_url(settings.REDIS_URL)
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("test:publish:a", "test:publish:b")
    while listener.get_message(timeout=1) is not None or not listener.subscribed:
        pass

    def received(count):
        messages, deadline = [], time.monotonic() + 5
        while len(messages) < count and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.2)
            if message is not None:
                messages.append((message["channel"].decode(), message["data"].decode()))
        return messages

    yield received
    listener.close()
    client.close()


def test_a_batch_is_sent_when_its_block_ends_in_one_round_trip(subscriber, redis_round_trips):
    with pubsub.batched_publishes():
        pubsub.publish(settings.REDIS_URL, "test:publish:a", ["1", "2"])
        with pubsub.batched_publishes():  # nested: the outer block sends
            pubsub.publish(settings.REDIS_URL, "test:publish:b", ["3"])
        assert redis_round_trips == []

    # (A first connection's handshake aside.)
    publishing = [b"".join(trip) for trip in redis_round_trips if b"PUBLISH" in b"".join(trip)]
    assert len(publishing) == 1 and publishing[0].count(b"PUBLISH") == 3
    assert subscriber(3) == [("test:publish:a", "1"), ("test:publish:a", "2"), ("test:publish:b", "3")]


def test_a_block_that_raises_still_sends_what_it_published(subscriber):
    with pytest.raises(RuntimeError), pubsub.batched_publishes():
        pubsub.publish(settings.REDIS_URL, "test:publish:a", ["before"])
        raise RuntimeError("the block fails after publishing")

    assert subscriber(1) == [("test:publish:a", "before")]
    pubsub.publish(settings.REDIS_URL, "test:publish:b", ["unbatched"])  # the batch is over
    assert subscriber(1) == [("test:publish:b", "unbatched")]


def test_an_unreachable_redis_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="core.pubsub"):
        pubsub.publish("redis://127.0.0.1:1/0", "test:publish:a", ["lost"])
        with pubsub.batched_publishes():
            pubsub.publish("redis://127.0.0.1:1/0", "test:publish:a", ["lost", "too"])

    assert [record.message.startswith("could not publish") for record in caplog.records] == [True, True]
