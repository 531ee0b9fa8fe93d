import pytest
from django.utils import timezone

from notifications.models import Notification
from tasks.tests.factories import TaskFactory

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


@pytest.fixture
def mine(people):
    task = TaskFactory(creator=people["creator"])
    return [NotificationFactory(recipient=people["creator"], task=task, actor=people["manager"]) for _ in range(3)]


def test_the_list_shows_only_own_notifications_newest_first_with_unread_count(people, client_for, mine):
    NotificationFactory(recipient=people["outsider"])
    Notification.objects.filter(id=mine[0].id).update(read_at=timezone.now())

    response = client_for(people["creator"]).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["unread_count"] == 2
    assert [row["id"] for row in body["results"]] == [n.id for n in reversed(mine)]
    assert set(body["results"][0]) == {"id", "kind", "task", "actor", "message", "created_at", "read_at"}
    assert body["results"][0]["actor"] == people["manager"].id
    assert body["results"][0]["task"] == mine[0].task_id


def test_unread_filter(people, client_for, mine):
    Notification.objects.filter(id=mine[0].id).update(read_at=timezone.now())
    client = client_for(people["creator"])

    unread = client.get(URL, {"unread": "true"}).json()
    read = client.get(URL, {"unread": "false"}).json()

    assert sorted(row["id"] for row in unread["results"]) == [mine[1].id, mine[2].id]
    assert [row["id"] for row in read["results"]] == [mine[0].id]
    assert unread["unread_count"] == read["unread_count"] == 2


@pytest.mark.parametrize("query", [{"unread": "maybe"}, {"kind": "nonsense"}, {"task": "x"}, {"page": "9"}])
def test_bad_query_parameters_answer_a_json_4xx(people, client_for, mine, query):
    response = client_for(people["creator"]).get(URL, query)

    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


def test_read_marks_one_and_answers_with_it(people, client_for, mine):
    response = client_for(people["creator"]).post(f"{URL}{mine[1].id}/read/")

    assert response.status_code == 200
    assert response.json()["id"] == mine[1].id
    assert response.json()["read_at"] is not None
    assert list(Notification.objects.filter(read_at__isnull=False).values_list("id", flat=True)) == [mine[1].id]


def test_someone_elses_notification_is_404(people, client_for, mine):
    client = client_for(people["outsider"])

    assert client.post(f"{URL}{mine[0].id}/read/").status_code == 404
    assert client.get(f"{URL}{mine[0].id}/").status_code == 404
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_read_all_marks_only_own_unread(people, client_for, mine):
    other = NotificationFactory(recipient=people["outsider"])
    Notification.objects.filter(id=mine[0].id).update(read_at=timezone.now())

    response = client_for(people["creator"]).post(f"{URL}read_all/")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=people["creator"], read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_anonymous_is_refused(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_runs_a_fixed_number_of_queries(people, client_for, django_assert_max_num_queries, page_size):
    task = TaskFactory(creator=people["creator"])
    Notification.objects.bulk_create(
        Notification(recipient=people["creator"], task=task, actor=people["manager"], kind="updated", message="m")
        for _ in range(120)
    )
    client = client_for(people["creator"])

    # count, page, unread count
    with django_assert_max_num_queries(3):
        response = client.get(URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_detail_and_read_run_a_fixed_number_of_queries(people, client_for, mine, django_assert_max_num_queries):
    client = client_for(people["creator"])

    with django_assert_max_num_queries(1):
        assert client.get(f"{URL}{mine[0].id}/").status_code == 200
    with django_assert_max_num_queries(2):
        assert client.post(f"{URL}{mine[0].id}/read/").status_code == 200
