import pytest


@pytest.mark.parametrize(
    "path, query, found",
    [
        ("comment", "budget question", True),
        ("comment", "Quarterly", True),
        ("comment", "assignee@example.com", True),
        ("comment", "nothing like it", False),
    ],
)
def test_changelist_search(path, query, found, admin_client, rows):
    response = admin_client.get(f"/admin/comments/{path}/", {"q": query})

    assert response.status_code == 200
    assert (response.context["cl"].result_count == 1) == found

