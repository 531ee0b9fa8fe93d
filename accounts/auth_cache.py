"""Who a credential belongs to, kept in the cache between requests.

Token, JWT and API-key authentication read the user's row (joined with the token or the key)
on every request; for the task API's execute-then-poll traffic that lookup was the largest
single cost of a request. An entry holds what the lookup loaded, without the password
hash, for AUTH_CACHE_SECONDS. Saving or deleting the user (other than a last-login stamp),
the token or the key through Django drops the entries it affects, now and again once the
change is committed (`accounts.signals`), so a deactivated user, a deleted token or a
revoked key is refused by the very next request in every process. A change made behind
Django's back (raw SQL, `QuerySet.update()`) applies within AUTH_CACHE_SECONDS. With
AUTH_CACHE_SECONDS=0 (the default without Redis, where each process would have a cache of
its own) or an unreachable cache, every request reads the database.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")


def enabled() -> bool:
    return bool(settings.AUTH_CACHE_SECONDS)


def token_key(raw_token: str) -> str:
    # A digest, so the cache never holds a usable credential.
    return "accounts:auth:token:" + hashlib.sha256(raw_token.encode()).hexdigest()


def user_key(user_id) -> str:
    return f"accounts:auth:user:{user_id}"


def api_key_key(prefix: str) -> str:
    return f"accounts:auth:api-key:{prefix}"


def cached(key: str, load: Callable[[], T | None]) -> T | None:
    """`load()`'s result, from the cache when it holds one. A None result is not cached."""
    if not enabled():
        return load()
    try:
        found = cache.get(key)
    except Exception:
        logger.warning("credential cache unavailable; reading the database", exc_info=True)
        return load()
    if found is not None:
        return found
    found = load()
    if found is not None:
        try:
            cache.set(key, found, timeout=settings.AUTH_CACHE_SECONDS)
        except Exception:
            logger.warning("could not cache a credential lookup", exc_info=True)
    return found


def first_time_within(key: str, seconds: float) -> bool:
    """True once per `seconds` for `key` across all processes (always True without the cache)."""
    if not enabled():
        return True
    try:
        return cache.add(f"accounts:auth:once:{key}", 1, timeout=seconds)
    except Exception:
        return True


def _delete(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:
        logger.warning("could not drop cached credentials %s", keys, exc_info=True)


def forget(*keys: str) -> None:
    """Drop entries now, and again on commit: a request that read the old rows in between
    and cached them is undone too."""
    if not enabled() or not keys:
        return
    keys = list(keys)
    _delete(keys)
    transaction.on_commit(lambda: _delete(keys))


def forget_user(user_id) -> None:
    """Drop every cached credential of one user (their row changed or went)."""
    if not enabled():
        return
    from rest_framework.authtoken.models import Token

    from .models import ApiKey

    keys = [user_key(user_id)]
    keys += [token_key(key) for key in Token.objects.filter(user_id=user_id).values_list("key", flat=True)]
    keys += [api_key_key(p) for p in ApiKey.objects.filter(user_id=user_id).values_list("prefix", flat=True)]
    forget(*keys)
