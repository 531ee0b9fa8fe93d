"""Reads: a user's webhooks and their deliveries, and which webhooks an event reaches."""

import logging
from collections.abc import Collection

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import IntegerField, Q, QuerySet, Value

from accounts.models import User
from tasks.models import Task
from tasks.selectors import task_visibility_q

from .models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

LISTENERS_KEY = "webhooks:listeners"


def webhooks_of(user: User) -> QuerySet[Webhook]:
    """The user's own webhooks, newest first; nobody else's is ever visible through the API."""
    return Webhook.objects.filter(owner=user).order_by("-created_at", "-id")


def deliveries_of(webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at", "-id")


def _subscribed_q(event: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(events__contains=[event])
    # SQLite has no JSON containment: the stored text holds the quoted name.
    return Q(events__icontains=f'"{event}"')


def _listeners() -> dict[str, set[int]] | None:
    """{event: ids of users with an active webhook subscribed to it}, kept in the shared cache
    (None when WEBHOOK_LISTENERS_CACHE_SECONDS is 0 or the cache is down).

    Only a pre-check: it may name a webhook since disabled (the real query then finds nothing),
    never miss one created or re-activated, since every save or delete of a webhook drops it.
    """
    seconds = settings.WEBHOOK_LISTENERS_CACHE_SECONDS
    if not seconds:
        return None
    try:
        found = cache.get(LISTENERS_KEY)
        if found is None:
            found = {}
            for owner_id, events in Webhook.objects.filter(is_active=True).values_list("owner_id", "events"):
                for event in events:
                    found.setdefault(event, set()).add(owner_id)
            cache.set(LISTENERS_KEY, found, timeout=seconds)
    except Exception:
        logger.warning("webhook listeners cache unavailable; reading the database", exc_info=True)
        return None
    return found


def forget_listeners() -> None:
    """Drop the cached listeners now and again after the commit, so a process that rebuilt it
    from the rows as they were before this transaction does not keep that copy."""

    def drop():
        try:
            cache.delete(LISTENERS_KEY)
        except Exception:
            logger.warning("could not drop the webhook listeners cache", exc_info=True)

    # Whatever this process's own setting: another process (a worker) may be using the copy.
    drop()
    transaction.on_commit(drop)


def webhooks_listening(
    events: Collection[str], *, owner_ids: Collection[int] | QuerySet | None = None
) -> list[Webhook]:
    """Active webhooks of active users subscribed to any of `events` (of `owner_ids` only, when
    given: ids or a one-column subquery), with their owners, in one query; in none when the
    cached listeners show nobody subscribed to these events."""
    listeners = _listeners()
    if listeners is not None and not any(listeners.get(event) for event in events):
        return []
    subscribed = Q()
    for event in events:
        subscribed |= _subscribed_q(event)
    found = Webhook.objects.filter(subscribed, is_active=True, owner__is_active=True)
    if owner_ids is not None:
        found = found.filter(owner_id__in=owner_ids)
    return list(found.select_related("owner").only("id", "events", "owner"))


def visible_task_ids_by_owner(*, owners: Collection[User], task_ids: Collection[int]) -> dict[int, set[int]]:
    """{owner id: the ids among `task_ids` that owner may see}, in one query for all owners.

    Each owner's rule is `tasks.selectors.task_visibility_q` (the one statement of who sees
    what); the owners' sets are read together as one UNION ALL, in which those who see every
    live task (CEO, HR, staff) share a single part.
    """
    owners, task_ids = list(owners), list(task_ids)
    if not owners or not task_ids:
        return {}
    # Those who see every live task share one part (their rule is the same for all of them).
    everything = [owner for owner in owners if owner.sees_everything]

    def part(visibility: Q, owner_id: int) -> QuerySet:
        marked = Task.objects.filter(visibility, id__in=task_ids).order_by()
        return marked.annotate(owner_id=Value(owner_id, output_field=IntegerField())).values_list("owner_id", "id")

    # Owner id 0 (no user has it) stands for all of `everything`.
    parts = [part(task_visibility_q(everything[0]), 0)] if everything else []
    parts += [part(task_visibility_q(owner), owner.id) for owner in owners if not owner.sees_everything]
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    visible: dict[int, set[int]] = {}
    for owner_id, task_id in rows:
        for reader in [owner.id for owner in everything] if owner_id == 0 else [owner_id]:
            visible.setdefault(reader, set()).add(task_id)
    return visible
