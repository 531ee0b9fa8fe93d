"""kombu's Redis transport, publishing through one Redis client per channel.

kombu's Redis channel builds a new `redis.Redis` client for every command it sends outside its
event loop (`Channel.conn_or_acquire`), each publish included: a fifth of the CPU a web request
spends sending its task message. A channel is used by one thread at a time (it comes from a
pool), so it keeps one client over its connection pool instead; the client is built again if the
channel replaces its pool (after a connection error).

`use_for_redis_urls()` (config/celery.py) makes it the transport of redis:// and rediss:// URLs
through kombu's alias table; a URL of another scheme (amqp://) keeps its own transport.
"""

from contextlib import contextmanager

from kombu import transport
from kombu.transport import redis


class Channel(redis.Channel):
    _command_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        current = self._command_client
        if current is None or current.connection_pool is not self.pool:
            current = self._command_client = self._create_client()
        yield current


class Transport(redis.Transport):
    Channel = Channel


def use_for_redis_urls() -> None:
    for scheme in ("redis", "rediss"):
        transport.TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
