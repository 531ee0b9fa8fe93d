import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attachments import services
from attachments.models import Attachment
from core.exceptions import PayloadTooLarge

from .factories import stored_files, upload


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.exe", "evil.exe"),
        ("a<b>.txt", "ab.txt"),
        ("my summer photo.jpg", "my_summer_photo.jpg"),
        (".htaccess", "htaccess"),
        ("..", "file"),
        ("", "file"),
        ("<>|", "file"),
        ("dir/", "file"),
        ("x" * 300 + ".tar", "x" * 96 + ".tar"),
    ],
)
def test_attachment_names_are_sanitised(raw, clean):
    assert services.attachment_clean_name(raw) == clean


@pytest.mark.parametrize(
    "name, claimed, content_type",
    [
        ("report.pdf", "text/plain", "application/pdf"),
        ("data.unknownext", "application/x-custom", "application/x-custom"),
        ("data.unknownext", "Application/X-Custom; charset=utf-8", "application/x-custom"),
        ("data.unknownext", "<script>", "application/octet-stream"),
        ("data.unknownext", "", "application/octet-stream"),
        ("data.unknownext", None, "application/octet-stream"),
    ],
)
def test_content_type_prefers_the_extension_then_the_client(name, claimed, content_type):
    assert services.attachment_content_type(name=name, client_content_type=claimed) == content_type


def test_same_name_uploads_never_clash(task, cast, media_root):
    first = upload(task=task, by=cast["creator"], name="notes.txt", data=b"one")
    second = upload(task=task, by=cast["creator"], name="notes.txt", data=b"two")

    assert first.name == second.name == "notes.txt"
    assert first.file.name != second.file.name
    assert first.file.name.startswith(f"attachments/{task.pk}/")
    assert stored_files(media_root) == {first.file.name, second.file.name}
    assert first.file.open("rb").read() == b"one"
    assert second.file.open("rb").read() == b"two"


def test_oversized_upload_stores_nothing(task, cast, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 10

    with pytest.raises(PayloadTooLarge):
        services.attachment_create(
            task=task, uploaded_by=cast["creator"], file=SimpleUploadedFile("big.bin", b"x" * 11)
        )

    assert not Attachment.objects.exists()
    assert stored_files(media_root) == set()


def test_file_outlives_a_delete_until_the_commit(task, cast, media_root, django_capture_on_commit_callbacks):
    attachment = upload(task=task, by=cast["creator"])

    with django_capture_on_commit_callbacks() as callbacks:
        services.attachment_delete(attachment=attachment)
    assert stored_files(media_root) == {attachment.file.name}

    for callback in callbacks:
        callback()
    assert stored_files(media_root) == set()


def test_row_failure_removes_the_stored_file(task, cast, media_root, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(Attachment, "save", fail)

    with pytest.raises(RuntimeError):
        upload(task=task, by=cast["creator"])

    assert stored_files(media_root) == set()
