"""Every persona against every attachment action on one dept_a task.

Refused writes must leave the comments, the attachments and the files on disk as they were.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attachments.models import Attachment
from comments.tests.conftest import PERSONAS, SEES_TASK, expect

from .factories import stored_files, upload

EDITS_TASK = {"ceo", "hr", "manager", "creator"}
MAY_ATTACH = EDITS_TASK | {"assignee"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_attachment_list(persona, cast, task, world, client_for):
    response = client_for(cast[persona]).get("/api/v1/attachments/", {"task": task.pk})

    assert response.status_code == 200
    ids = [a["id"] for a in response.json()["results"]]
    assert ids == ([world["attachment"].pk] if persona in SEES_TASK else [])


@pytest.mark.parametrize("persona", PERSONAS)
def test_attachment_upload(persona, cast, task, world, client_for):
    before = world["snapshot"]()

    response = client_for(cast[persona]).post(
        "/api/v1/attachments/",
        {"task": task.pk, "file": SimpleUploadedFile("minutes.txt", b"minutes")},
        format="multipart",
    )

    assert response.status_code == expect(persona, allowed=201, granted_to=MAY_ATTACH, invisible=400)
    if response.status_code == 201:
        assert Attachment.objects.get(pk=response.json()["id"]).uploaded_by == cast[persona]
    else:
        assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_attachment_retrieve(persona, cast, world, client_for):
    response = client_for(cast[persona]).get(f"/api/v1/attachments/{world['attachment'].pk}/")

    assert response.status_code == expect(persona, allowed=200, granted_to=SEES_TASK)
    if response.status_code == 200:
        assert response.json()["name"] == "plan.txt"


@pytest.mark.parametrize("persona", PERSONAS)
def test_attachment_download(persona, cast, world, client_for):
    response = client_for(cast[persona]).get(
        f"/api/v1/attachments/{world['attachment'].pk}/download/"
    )

    assert response.status_code == expect(persona, allowed=200, granted_to=SEES_TASK)
    if response.status_code == 200:
        assert b"".join(response.streaming_content) == b"plan v1"
    else:
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete_others_attachment(persona, cast, world, client_for, media_root,
                                  django_capture_on_commit_callbacks):
    before = world["snapshot"]()
    stored_name = world["attachment"].file.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast[persona]).delete(
            f"/api/v1/attachments/{world['attachment'].pk}/"
        )

    assert response.status_code == expect(persona, allowed=204, granted_to=EDITS_TASK)
    if response.status_code == 204:
        assert not Attachment.objects.filter(pk=world["attachment"].pk).exists()
        assert stored_name not in stored_files(media_root)
    else:
        assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete_own_attachment(persona, cast, task, world, client_for, media_root,
                               django_capture_on_commit_callbacks):
    # Uploaded while they could attach; the uploader may always take their own file back.
    own = upload(task=task, by=cast[persona], name="mine.txt")
    before = world["snapshot"]()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast[persona]).delete(f"/api/v1/attachments/{own.pk}/")

    assert response.status_code == expect(persona, allowed=204, granted_to=SEES_TASK)
    if response.status_code == 204:
        assert own.file.name not in stored_files(media_root)
        assert not Attachment.objects.filter(pk=own.pk).exists()
    else:
        assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_attachment_cannot_be_edited(persona, cast, world, client_for):
    before = world["snapshot"]()

    response = client_for(cast[persona]).patch(
        f"/api/v1/attachments/{world['attachment'].pk}/", {"name": "renamed.txt"}
    )

    assert response.status_code == 405
    assert world["snapshot"]() == before
