import pytest

from accounts.tests.factories import UserFactory
from attachments.tests.factories import upload

from .factories import CommentFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rows(cast, task):
    return CommentFactory(task=task, author=cast["assignee"], content="budget question"), upload(
        task=task, by=cast["creator"], name="budget.xlsx"
    )


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

