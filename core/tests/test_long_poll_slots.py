"""A long-poll slot is released in one round trip, and only by the wait that holds it."""

import pytest
from django.core.cache import caches

from accounts.tests.factories import UserFactory
from core.long_poll import long_poll_slot

pytestmark = pytest.mark.django_db


def test_a_released_slot_frees_its_key_and_never_the_key_of_a_later_wait():
    user = UserFactory()
    shared = caches["shared"]

    with long_poll_slot(user, seconds=5) as slot:
        assert shared.get(slot.key) == slot.token
    assert shared.get(slot.key) is None

    with long_poll_slot(user, seconds=5) as slot:
        # Expired meanwhile and taken by another wait: that wait keeps it.
        shared.set(slot.key, "another-wait", 30)
    assert shared.get(slot.key) == "another-wait"


@pytest.mark.services
def test_with_redis_taking_and_releasing_a_slot_is_two_round_trips(redis_round_trips):
    assert hasattr(caches["shared"]._cache, "get_client")
    user = UserFactory()
    redis_round_trips.clear()

    with long_poll_slot(user, seconds=5) as slot:
        pass

    assert len(redis_round_trips) == 2, redis_round_trips  # SET NX, then the compare-and-delete script
    assert caches["shared"].get(slot.key) is None
