import os
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attachments.models import Attachment
from comments.tests.factories import TaskFactory

from .factories import stored_files, upload


def post_file(client, task, name="notes.txt", data=b"hello", content_type="text/plain"):
    return client.post(
        "/api/v1/attachments/",
        {"task": task.pk, "file": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


def test_bytes_round_trip_exactly(cast, task, client_for, media_root):
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE, so the upload is spooled to a temporary file.
    data = os.urandom(3 * 1024 * 1024 + 7)
    client = client_for(cast["assignee"])

    created = post_file(client, task, name="dump.xyzq", data=data, content_type="application/x-dump")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "task", "uploaded_by", "file", "name", "size", "content_type", "uploaded_at"}
    assert (body["task"], body["uploaded_by"], body["name"], body["size"]) == (
        task.pk, cast["assignee"].pk, "dump.xyzq", len(data)
    )
    assert body["file"] == f"http://testserver/api/v1/attachments/{body['id']}/download/"

    response = client.get(body["file"])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"] == 'attachment; filename="dump.xyzq"'
    assert response["Content-Type"] == "application/x-dump"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_ignores_what_the_client_accepts(cast, task, client_for):
    attachment = upload(task=task, by=cast["creator"], data=b"abc")

    response = client_for(cast["creator"]).get(
        f"/api/v1/attachments/{attachment.pk}/download/", HTTP_ACCEPT="application/octet-stream"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"abc"


def test_the_storage_url_is_never_exposed(cast, task, client_for):
    attachment = upload(task=task, by=cast["creator"])

    listing = client_for(cast["creator"]).get("/api/v1/attachments/").content.decode()

    assert attachment.file.name not in listing
    assert "/download/" in listing


@pytest.mark.parametrize(
    "raw, clean",
    [("../../etc/passwd", "passwd"), ("a<b>.txt", "ab.txt"), ("..\\..\\boot.ini", "boot.ini")],
)
def test_malicious_names_are_sanitised(raw, clean, cast, task, client_for, media_root):
    response = post_file(client_for(cast["creator"]), task, name=raw)

    assert response.status_code == 201
    assert response.json()["name"] == clean
    stored = Attachment.objects.get().file.name
    assert stored.startswith(f"attachments/{task.pk}/") and stored.endswith(f"/{clean}")
    assert stored_files(media_root) == {stored}
    assert (media_root / stored).resolve().is_relative_to(media_root.resolve())


def test_content_type_is_guessed_from_the_name(cast, task, client_for):
    response = post_file(client_for(cast["creator"]), task, name="report.pdf", content_type="text/html")

    assert response.json()["content_type"] == "application/pdf"


@pytest.mark.parametrize("size", [1001, 500_000])
def test_oversized_upload_is_413_and_leaves_nothing(size, cast, task, client_for, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 1000

    response = post_file(client_for(cast["creator"]), task, name="big.bin", data=b"x" * size)

    assert response.status_code == 413
    assert response.json() == {"detail": "An attachment may be at most 1000 bytes."}
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == set()


def test_a_body_far_over_the_cap_is_refused_unread(cast, task, client_for, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000

    with mock.patch("attachments.views.AttachmentUploadSerializer") as parse:
        response = post_file(client_for(cast["creator"]), task, data=b"x" * 500_000)

    assert response.status_code == 413
    parse.assert_not_called()


def test_upload_at_the_cap_is_accepted(cast, task, client_for, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000

    response = post_file(client_for(cast["creator"]), task, data=b"x" * 1000)

    assert response.status_code == 201
    assert response.json()["size"] == 1000


@pytest.mark.parametrize(
    "body, fmt",
    [
        ({"task": "TASK"}, "multipart"),
        ({"task": "TASK", "file": "not a file"}, "multipart"),
        ({"task": "TASK", "file": SimpleUploadedFile("empty.txt", b"")}, "multipart"),
        ({"task": "abc", "file": SimpleUploadedFile("a.txt", b"a")}, "multipart"),
        ({"file": SimpleUploadedFile("a.txt", b"a")}, "multipart"),
        ({"task": "TASK", "file": "x"}, "json"),
    ],
)
def test_bad_upload_input_is_a_json_400(body, fmt, cast, task, client_for, media_root):
    body = {k: (task.pk if v == "TASK" else v) for k, v in body.items()}

    response = client_for(cast["creator"]).post("/api/v1/attachments/", body, format=fmt)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert stored_files(media_root) == set()


def test_attachments_of_a_soft_deleted_task_do_not_exist(cast, task, client_for, media_root):
    attachment = upload(task=task, by=cast["creator"])
    task.deleted_at = timezone.now()
    task.save(update_fields=["deleted_at"])
    ceo = client_for(cast["ceo"])

    assert ceo.get("/api/v1/attachments/").json()["count"] == 0
    assert ceo.get(f"/api/v1/attachments/{attachment.pk}/").status_code == 404
    assert ceo.get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == 404
    assert ceo.delete(f"/api/v1/attachments/{attachment.pk}/").status_code == 404
    assert post_file(ceo, task).status_code == 400
    assert stored_files(media_root) == {attachment.file.name}


def test_a_file_missing_from_storage_is_a_json_404(cast, task, client_for, media_root):
    attachment = upload(task=task, by=cast["creator"])
    (media_root / attachment.file.name).unlink()

    response = client_for(cast["creator"]).get(f"/api/v1/attachments/{attachment.pk}/download/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_list_filters_by_task(cast, task, client_for):
    mine = upload(task=task, by=cast["creator"])
    upload(task=TaskFactory(creator=cast["creator"]), by=cast["creator"])

    response = client_for(cast["creator"]).get("/api/v1/attachments/", {"task": task.pk})

    assert [a["id"] for a in response.json()["results"]] == [mine.pk]


@pytest.mark.parametrize("path", ["/api/v1/attachments/", "/api/v1/attachments/1/download/"])
def test_anonymous_requests_are_refused(path, api_client):
    assert api_client.get(path).status_code == 401


@pytest.mark.parametrize(
    "content_type, payload",
    [
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n"),
        ("multipart/form-data", b"garbage"),
        ("application/json", b"{not json"),
    ],
)
def test_malformed_bodies_are_a_json_400(content_type, payload, cast, client_for, media_root):
    response = client_for(cast["creator"]).generic(
        "POST", "/api/v1/attachments/", payload, content_type=content_type
    )

    assert response.status_code == 400
    assert "detail" in response.json() or "file" in response.json()
    assert stored_files(media_root) == set()
