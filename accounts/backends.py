"""Django's ModelBackend, with each user's permission set kept in the cache between requests.

Without it every request that checks a permission reads the user's own and group
permissions (two joined queries). The cached set is tagged with a version that any change
to permissions, groups or memberships replaces (`permissions_changed`, wired to the model
signals in `accounts.signals`), so a grant or revoke made through Django applies to the very
next request in every process. A change made behind Django's back (raw SQL) applies within
PERMISSIONS_CACHE_SECONDS. If the cache is unreachable the backend reads the database; with
PERMISSIONS_CACHE_SECONDS=0 (the default without Redis, where each process would have a cache
of its own) it always does.
"""

import logging
import uuid

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "accounts:permissions:version"


def _user_key(user_id) -> str:
    return f"accounts:permissions:user:{user_id}"


def _new_version() -> None:
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("could not reset the permission cache", exc_info=True)


def permissions_changed() -> None:
    """Make every cached permission set stale: now, and again once the change is committed.

    The second reset covers a request that read the old rows between the first one and the
    commit and cached them.
    """
    _new_version()
    transaction.on_commit(_new_version)


class CachedPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if hasattr(user_obj, "_perm_cache") or not settings.PERMISSIONS_CACHE_SECONDS:
            return super().get_all_permissions(user_obj)
        key = _user_key(user_obj.pk)
        try:
            found = cache.get_many([VERSION_KEY, key])
            version = found.get(VERSION_KEY)
            if version is None:
                cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
                version = cache.get(VERSION_KEY)
        except Exception:
            logger.warning("permission cache unavailable; reading the database", exc_info=True)
            return super().get_all_permissions(user_obj)
        entry = found.get(key)
        if entry is not None and entry[0] == version:
            user_obj._perm_cache = set(entry[1])
            return user_obj._perm_cache
        # Read after the version, so a change committed in between makes this entry stale.
        permissions = super().get_all_permissions(user_obj)
        try:
            cache.set(key, (version, sorted(permissions)), timeout=settings.PERMISSIONS_CACHE_SECONDS)
        except Exception:
            logger.warning("could not cache the permissions of user %s", user_obj.pk, exc_info=True)
        return permissions
