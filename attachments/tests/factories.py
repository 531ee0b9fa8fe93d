from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from attachments import services
from attachments.models import Attachment
from tasks.models import Task


def upload(*, task: Task, by, name: str = "notes.txt", data: bytes = b"hello", content_type="text/plain"
           ) -> Attachment:
    """An attachment stored the way the API stores one."""
    return services.attachment_create(
        task=task, uploaded_by=by, file=SimpleUploadedFile(name, data, content_type=content_type)
    )


def stored_files(root: Path) -> set[str]:
    """Every file under the storage root, as storage names."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
