from pathlib import Path

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from comments import services
from comments.models import Attachment
from tasks.models import Task
from tasks.tests import factories as tasks_factories


class TaskFactory(tasks_factories.TaskFactory):
    """A bare task row, in no department and with no due date unless a test says so."""

    department = None
    due_date = None


class CommentFactory(tasks_factories.CommentFactory):
    task = factory.SubFactory(TaskFactory)
    author = factory.SelfAttribute("task.creator")


def upload(*, task: Task, by, name: str = "notes.txt", data: bytes = b"hello", content_type="text/plain"
           ) -> Attachment:
    """An attachment stored the way the API stores one."""
    return services.attachment_create(
        task=task, uploaded_by=by, file=SimpleUploadedFile(name, data, content_type=content_type)
    )


def stored_files(root: Path) -> set[str]:
    """Every file under the storage root, as storage names."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
