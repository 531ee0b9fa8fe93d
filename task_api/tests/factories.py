import factory
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from task_api.models import TaskExecution


class TaskExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaskExecution

    user = factory.SubFactory(UserFactory)
    task_name = "task_api.tasks.add"
    args = factory.LazyFunction(lambda: [1, 2])
    kwargs = factory.LazyFunction(dict)
    status = TaskExecution.Status.PENDING


def grant(user, *permissions: str):
    """Give `user` the "app_label.codename" permissions and return a fresh copy (no perm cache)."""
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return type(user).objects.get(pk=user.pk)
