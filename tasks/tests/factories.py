from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from comments.models import Comment
from tasks.models import Task


class TaskFactory(factory.django.DjangoModelFactory):
    """A task straight in the database (no services, no history rows)."""

    class Meta:
        model = Task
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Task {n}")
    description = "Something to do"
    creator = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda task: task.creator.department)
    due_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))

    @factory.post_generation
    def assignees(self, create, extracted, **kwargs):
        if create and extracted:
            self.assignees.add(*extracted)
            if self.assigned_by_id is None:
                self.assigned_by = self.creator
                self.save(update_fields=["assigned_by"])


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = factory.SubFactory(UserFactory)
    content = factory.Sequence(lambda n: f"Comment {n}")
