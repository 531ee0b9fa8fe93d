from pathlib import Path

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from comments import services
from comments.models import Attachment, Comment
from tasks.models import Task


class TaskFactory(factory.django.DjangoModelFactory):
    """A bare task row; the tasks app's own services are not needed to comment on one."""

    class Meta:
        model = Task
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Task {n}")
    creator = factory.SubFactory(UserFactory)

    @factory.post_generation
    def assignees(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.assignees.add(*extracted)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = factory.SelfAttribute("task.creator")
    content = factory.Sequence(lambda n: f"Comment {n}")


def upload(*, task: Task, by, name: str = "notes.txt", data: bytes = b"hello", content_type="text/plain"
           ) -> Attachment:
    """An attachment stored the way the API stores one."""
    return services.attachment_create(
        task=task, uploaded_by=by, file=SimpleUploadedFile(name, data, content_type=content_type)
    )


def stored_files(root: Path) -> set[str]:
    """Every file under the storage root, as storage names."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
