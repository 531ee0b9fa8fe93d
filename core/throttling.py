"""Who the client is, for every throttle and login guard, and where throttles keep their counts.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as
TRUSTED_PROXY_COUNT proxies of our own vouch for it: each appends the address it received the
request from, so with N of them the Nth address from the right is the one the first proxy saw.
With none (the default) the socket address is the client, whatever the header says.
"""

import ipaddress

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling


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


class ScopedRateThrottle(SharedCacheThrottleMixin, throttling.ScopedRateThrottle):
    """DRF's per-view-scope throttle, counting in the shared cache."""
