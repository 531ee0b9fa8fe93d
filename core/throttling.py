"""Who the client is, for every throttle and login guard, and where throttles keep their counts.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as
TRUSTED_PROXY_COUNT proxies of our own vouch for it: each appends the address it received the
request from, so with N of them the Nth address from the right is the one the first proxy saw.
With none (the default) the socket address is the client, whatever the header says.
"""

import ipaddress
import logging
import math
from typing import NamedTuple

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the address the outermost trusted proxy saw.

    Works with a Django HttpRequest and with a DRF Request (which proxies `META`).
    """
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted <= 0 or not forwarded:
        return remote_addr
    addresses = [part for part in forwarded.split(",") if part.strip()]
    if not addresses:
        return remote_addr
    # Fewer entries than proxies: the first one there is the farthest any proxy vouches for.
    return _valid_ip(addresses[-min(trusted, len(addresses))]) or remote_addr


class SharedCacheThrottleMixin:
    """For DRF throttles: counts in the cache every web process shares, per client_ip().

    DRF's throttles default to the `default` cache, which is per process without Redis, and
    trust X-Forwarded-For when NUM_PROXIES is unset.
    """

    @property
    def cache(self):
        return caches["shared"]

    def get_ident(self, request):
        return client_ip(request)


class RateLimit(NamedTuple):
    limit: int
    remaining: int
    reset: int  # seconds until the window frees


def _count_hits(cache, hits: list[tuple[str, int, int]]) -> list[int]:
    """Add each `cost` to its key's count in the current window (`duration` seconds) and return
    the counts: one round trip on Redis for all of them (INCRBY and EXPIRE per key, pipelined on
    the client of Django's RedisCache), add-then-incr per key elsewhere."""
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if get_client is None:
        return [_add_and_incr(cache, key, duration, cost) for key, duration, cost in hits]
    raw_keys = [cache.make_and_validate_key(key) for key, _, _ in hits]
    pipe = get_client(raw_keys[0], write=True).pipeline(transaction=False)
    for raw_key, (_, duration, cost) in zip(raw_keys, hits, strict=True):
        pipe.incr(raw_key, cost)
        pipe.expire(raw_key, duration + 1)
    return [int(count) for count in pipe.execute()[::2]]


def _add_and_incr(cache, key: str, duration: int, cost: int) -> int:
    cache.add(key, 0, duration + 1)
    try:
        return cache.incr(key, cost)
    except ValueError:  # expired between the two calls
        cache.add(key, cost, duration + 1)
        return cost


class ScopeLimit(NamedTuple):
    key: str
    limit: int
    duration: int
    reset: int


RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class RateLimitThrottle(SharedCacheThrottleMixin, throttling.SimpleRateThrottle):
    """Every authenticated request: per user at THROTTLE_USER_RATE, or, when the credential
    names a bucket of its own (an API key's `rate_limit_bucket`), per credential at
    THROTTLE_KEY_RATE instead.

    Fixed windows aligned to the clock (a minute starts at :00), counted in the shared cache with
    one Redis round trip; the whole history DRF's throttles keep per client would cost a list of
    up to 1200 timestamps read and written on every request. The count is left on the request for
    RateLimitHeadersMiddleware.
    """

    USER_SCOPE = "user"
    KEY_SCOPE = "api_key"

    def __init__(self):
        # The rate depends on the request; DRF's constructor would read it once, by scope.
        self._wait = None

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True
        bucket = getattr(request.auth, "rate_limit_bucket", None)
        scope, ident = (self.KEY_SCOPE, bucket) if bucket else (self.USER_SCOPE, f"user:{user.pk}")
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, duration = self.parse_rate(rate)
        now = self.timer()
        window = int(now // duration)
        cost = self._cost(request, view)  # outside the try: a body that cannot be read is the client's 400
        scoped = self.scope_limit(request, view, now)
        hits = [(f"ratelimit:{ident}:{window}", duration, cost)]
        if scoped is not None:
            hits.append((scoped.key, scoped.duration, 1))
        try:
            count, *scoped_count = _count_hits(self.cache, hits)
        except Exception:
            # A limit is no reason to refuse the whole API while the cache is down.
            logger.warning("rate-limit cache unavailable; request not counted", exc_info=True)
            return True
        reset = max(1, math.ceil((window + 1) * duration - now))
        request._request.rate_limit = RateLimit(limit=limit, remaining=max(limit - count, 0), reset=reset)
        waits = [reset] if count > limit else []
        if scoped_count and scoped_count[0] > scoped.limit:
            waits.append(scoped.reset)
        self._wait = max(waits, default=reset)
        return not waits

    def scope_limit(self, request, view, now: float) -> ScopeLimit | None:
        """A second limit counted in the same round trip (ScopedRateLimitThrottle); none here."""
        return None

    def wait(self):
        return self._wait

    @staticmethod
    def _cost(request, view) -> int:
        """What the request counts for: 1, or what the view's `throttle_cost(request)` says (a
        bulk request counts each item it names, so it buys no more writes than one-by-one)."""
        cost = getattr(view, "throttle_cost", None)
        return max(1, cost(request)) if cost is not None else 1


class ScopedRateLimitThrottle(RateLimitThrottle):
    """RateLimitThrottle, plus the per-user cap of the view's `throttle_scope` (its rate in
    DEFAULT_THROTTLE_RATES, e.g. `task_api_execute`), both counted in one Redis round trip.

    The cap is a fixed window aligned to the clock, as the rate limit is: DRF's
    ScopedRateThrottle kept each user's history of timestamps (a GET and a SET of a growing
    list on every request, two round trips).
    """

    def scope_limit(self, request, view, now: float) -> ScopeLimit | None:
        scope = getattr(view, "throttle_scope", None)
        rate = self.THROTTLE_RATES.get(scope) if scope else None
        if not rate:
            return None
        limit, duration = self.parse_rate(rate)
        window = int(now // duration)
        reset = max(1, math.ceil((window + 1) * duration - now))
        return ScopeLimit(f"throttle:{scope}:user:{request.user.pk}:{window}", limit, duration, reset)


class RateLimitHeadersMiddleware:
    """Puts the RateLimitThrottle's count of this request on its response (429s included)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        rate_limit = getattr(request, "rate_limit", None)
        if rate_limit is not None:
            for header, value in zip(RATE_LIMIT_HEADERS, rate_limit, strict=True):
                response[header] = str(value)
        return response
