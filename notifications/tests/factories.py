import factory

from accounts.tests.factories import UserFactory
from notifications.models import Notification
from tasks.tests.factories import TaskFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = Notification.Kind.UPDATED
    task = factory.SubFactory(TaskFactory)
    actor = factory.SubFactory(UserFactory)
    message = factory.Sequence(lambda n: f"Something happened ({n}).")
