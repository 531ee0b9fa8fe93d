"""Writes for attachments: the stored file and its row go and come together."""

import mimetypes
import os
import re

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import get_valid_filename

from accounts.models import User
from core.exceptions import PayloadTooLarge
from tasks.models import Task

from .models import Attachment

ATTACHMENT_NAME_MAX_LENGTH = 100
_EXTENSION_MAX_LENGTH = 16
_MEDIA_TYPE = re.compile(r"^[a-z0-9][\w.+-]*/[\w.+-]+$")
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def attachment_clean_name(raw_name: str) -> str:
    """The last path component, reduced to safe characters and a bounded length."""
    base = str(raw_name).replace("\\", "/").rsplit("/", 1)[-1]
    try:
        # A leading dot would make a hidden file on disk.
        name = get_valid_filename(base).lstrip(".")
    except SuspiciousFileOperation:
        name = ""
    if not name:
        return "file"
    if len(name) > ATTACHMENT_NAME_MAX_LENGTH:
        stem, extension = os.path.splitext(name)
        extension = extension[:_EXTENSION_MAX_LENGTH]
        name = stem[: ATTACHMENT_NAME_MAX_LENGTH - len(extension)] + extension
    return name


def attachment_content_type(*, name: str, client_content_type: str | None) -> str:
    """Trust the extension first: the client's header is whatever the client says."""
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    claimed = (client_content_type or "").split(";", 1)[0].strip().lower()
    if len(claimed) <= 150 and _MEDIA_TYPE.match(claimed):
        return claimed
    return DEFAULT_CONTENT_TYPE


def attachment_check_size(*, size: int) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise PayloadTooLarge(f"An attachment may be at most {limit} bytes.")


@transaction.atomic
def attachment_create(*, task: Task, uploaded_by: User, file: UploadedFile) -> Attachment:
    # Checked before anything touches the storage, so a refused upload leaves nothing behind.
    attachment_check_size(size=file.size)
    name = attachment_clean_name(file.name or "")
    attachment = Attachment(
        task=task,
        uploaded_by=uploaded_by,
        name=name,
        size=file.size,
        content_type=attachment_content_type(name=name, client_content_type=file.content_type),
    )
    attachment.file.save(name, file, save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: Attachment) -> None:
    storage, stored_name = attachment.file.storage, attachment.file.name
    attachment.delete()
    # Only once the row is surely gone: a rolled-back delete must still find its file.
    transaction.on_commit(lambda: storage.delete(stored_name), robust=True)
