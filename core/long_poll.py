"""A cap on requests that hold a web thread while they wait (`?wait=` long-polls, later streams).

Two limits, both checked before the wait starts:
- per user, across every web process: at most `LONG_POLL_PER_USER` open waits, counted as
  slot keys in `caches["shared"]` (one key per open wait, taken with an atomic `add`). Each
  key expires a little after the longest wait it may cover, so a request that dies without
  releasing its slot (a killed process) frees it by itself;
- per process: at most `LONG_POLL_PROCESS_SHARE` of its `GUNICORN_THREADS`, so the other
  threads always serve ordinary requests (the health check among them).
Over either limit the request is refused with 429 and `Retry-After` rather than answered
without waiting: an immediate "not finished yet" invites a client to re-poll in a tight
loop, where a 429 tells it to back off.
"""

import math
import os
import threading
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import caches
from django.core.files import locks

from .exceptions import TooManyRequests

# A slot key outlives the wait it covers by this much, so it is never lost before release.
SLOT_GRACE_SECONDS = 10
# Retry-After for a user at their cap: one of their own waits has to end first.
USER_RETRY_AFTER = 5
# Retry-After when this process is full: other users' waits end or are refused quickly.
PROCESS_RETRY_AFTER = 1


class LongPollLimited(TooManyRequests):
    """429 with Retry-After: too many open waits for this user or this process."""

    default_message = "Too many open long-polls."


_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def process_slots() -> int:
    """How many threads of one web process may be waiting at once (at least 1)."""
    return max(1, math.floor(settings.GUNICORN_THREADS * settings.LONG_POLL_PROCESS_SHARE))


def _process_semaphore() -> threading.BoundedSemaphore:
    size = process_slots()
    with _semaphores_lock:
        semaphore = _semaphores.get(size)
        if semaphore is None:
            semaphore = _semaphores[size] = threading.BoundedSemaphore(size)
        return semaphore


class _UserSlot:
    def __init__(self, key: str, token: str):
        self.key = key
        self.token = token

    def release(self) -> None:
        cache = caches["shared"]
        redis_cache = getattr(cache, "_cache", None)
        if hasattr(redis_cache, "get_client"):
            # Only our own key (had it expired, another wait may hold the slot now): compared
            # and deleted by one script, one round trip where a GET then a DEL took two.
            raw_key = cache.make_and_validate_key(self.key)
            client = redis_cache.get_client(raw_key, write=True)
            client.eval(_RELEASE_OWN_KEY, 1, raw_key, redis_cache._serializer.dumps(self.token))
            return
        with _exclusive(cache):
            if cache.get(self.key) == self.token:
                cache.delete(self.key)


# KEYS[1] is deleted only if it still holds ARGV[1] (the cache's serialized token).
_RELEASE_OWN_KEY = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@contextmanager
def _exclusive(cache):
    """Make the cache's check-then-write `add` atomic where it is not.

    Redis' `add` is one SET NX. The file cache's (no Redis) checks, then writes: two requests
    could both take the same slot, so there every process and thread takes turns through an
    exclusive lock on a file beside the cache's own.
    """
    directory = getattr(cache, "_dir", None)
    if directory is None:
        yield
        return
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "long-poll.lock"), "a") as lock_file:
        locks.lock(lock_file, locks.LOCK_EX)
        try:
            yield
        finally:
            locks.unlock(lock_file)


def _take_user_slot(user_id, seconds: float) -> _UserSlot | None:
    cache = caches["shared"]
    token = uuid.uuid4().hex
    ttl = math.ceil(seconds) + SLOT_GRACE_SECONDS
    with _exclusive(cache):
        for index in range(settings.LONG_POLL_PER_USER):
            key = f"long-poll:{user_id}:{index}"
            if cache.add(key, token, timeout=ttl):
                return _UserSlot(key, token)
    return None


@contextmanager
def long_poll_slot(user, *, seconds: float, holds_thread: bool = True):
    """Hold one of `user`'s long-poll slots and one of this process's for up to `seconds`.

    Raises LongPollLimited (429, Retry-After) when either is exhausted. The caller must not
    hold the slot longer than `seconds` (a stream ends then and the client reconnects): past
    that, plus a grace, the user's slot lapses. A wait that holds no thread while it waits
    (`holds_thread=False`: a stream served by the event loop of an ASGI process) takes only
    the user's slot.
    """
    slot = _take_user_slot(user.pk, seconds)
    if slot is None:
        raise LongPollLimited(
            f"You already have {settings.LONG_POLL_PER_USER} long-polls open; "
            "wait for one to end or poll without `wait`.",
            retry_after=USER_RETRY_AFTER,
        )
    try:
        if not holds_thread:
            yield slot
            return
        semaphore = _process_semaphore()
        if not semaphore.acquire(blocking=False):
            raise LongPollLimited(
                "This server is holding as many long-polls as it may; retry shortly.",
                retry_after=PROCESS_RETRY_AFTER,
            )
        try:
            yield slot
        finally:
            semaphore.release()
    finally:
        slot.release()
