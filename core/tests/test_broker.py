"""The Redis broker transport keeps one client per channel (core/broker.py)."""

import uuid

import pytest

from config.celery import app
from core.broker import Transport

pytestmark = pytest.mark.services


def test_a_channel_sends_every_message_through_one_client_and_a_new_pool_gets_a_new_one():
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        queue = connection.SimpleQueue(f"test-broker-{uuid.uuid4().hex}")
        channel = queue.channel
        try:
            queue.put({"n": 1})
            first = channel._command_client
            queue.put({"n": 2})
            assert first is not None and channel._command_client is first

            # What kombu does after a connection error: the channel's pool is dropped.
            channel._disconnect_pools()
            queue.put({"n": 3})
            assert channel._command_client is not first
            assert channel._command_client.connection_pool is channel.pool

            received = []
            for _ in range(3):
                message = queue.get(timeout=5)
                received.append(message.payload["n"])
                message.ack()
            assert received == [1, 2, 3]
        finally:
            queue.queue.delete()
            queue.close()


def test_other_schemes_keep_their_own_transport():
    with app.connection_for_write("amqp://guest:guest@127.0.0.1:5672//") as connection:
        assert connection.transport_cls == "amqp" and not isinstance(connection.transport, Transport)
