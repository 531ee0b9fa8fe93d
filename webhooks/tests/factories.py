import factory

from accounts.tests.factories import UserFactory
from webhooks.models import EVENTS, Webhook, WebhookDelivery
from webhooks.signing import new_secret


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    owner = factory.SubFactory(UserFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    events = factory.LazyFunction(lambda: list(EVENTS))
    secret = factory.LazyFunction(new_secret)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    webhook = factory.SubFactory(WebhookFactory)
    event = "ping"
    payload = factory.LazyAttribute(lambda d: {"id": str(d.id), "event": d.event, "created_at": "2026-01-01T00:00:00Z",
                                                "data": {}})
    id = factory.Faker("uuid4", cast_to=None)
