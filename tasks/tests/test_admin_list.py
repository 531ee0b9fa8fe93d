"""The tasks changelist: badges, assignees and overdue marks in a query count that does not grow."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db
URL = "/admin/tasks/task/"


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("rows", [3, 30])
def test_changelist_shows_badges_assignees_and_overdue_in_fixed_queries(
    superuser_client, rows, django_assert_max_num_queries
):
    people = UserFactory.create_batch(2)
    for i in range(rows):
        TaskFactory(
            status=Task.Status.TODO if i % 2 else Task.Status.DONE,
            due_date=timezone.now() - timedelta(days=1),
            assignees=people,
        )

    with django_assert_max_num_queries(10):
        response = superuser_client.get(URL)

    html = response.content.decode()
    assert response.context["cl"].result_count == rows
    assert html.count('class="th-badge th-wait">To do<') == rows // 2
    assert html.count('class="th-badge th-ok">Done<') == rows - rows // 2
    # Only open tasks past their due date are marked overdue.
    assert html.count('class="th-overdue"') == rows // 2
    assert html.count(f'title="{people[0].email}"') == rows
