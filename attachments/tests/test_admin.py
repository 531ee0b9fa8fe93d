import pytest


@pytest.mark.parametrize(
    "path, query, found",
    [
        ("attachment", "budget.xlsx", True),
        ("attachment", "creator@example.com", True),
        ("attachment", "nothing like it", False),
    ],
)
def test_changelist_search(path, query, found, admin_client, rows):
    response = admin_client.get(f"/admin/attachments/{path}/", {"q": query})

    assert response.status_code == 200
    assert (response.context["cl"].result_count == 1) == found


def test_attachment_change_page_links_to_the_api_download(admin_client, rows):
    _, attachment = rows

    response = admin_client.get(f"/admin/attachments/attachment/{attachment.pk}/change/")

    assert response.status_code == 200
    assert f"/api/v1/attachments/{attachment.pk}/download/" in response.content.decode()
    assert attachment.file.name not in response.content.decode()


def test_admin_delete_removes_the_file(admin_client, rows, media_root, django_capture_on_commit_callbacks):
    _, attachment = rows

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/attachments/attachment/{attachment.pk}/delete/", {"post": "yes"}
        )

    assert response.status_code == 302
    assert not (media_root / attachment.file.name).exists()
