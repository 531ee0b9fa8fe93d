import pytest
from django.urls import reverse

from accounts.models import Department, User

pytestmark = pytest.mark.django_db

ROLES = ["ceo", "hr", "manager", "other_manager", "creator", "assignee", "outsider"]
ADMINS = {"ceo", "hr"}


@pytest.mark.parametrize("role", ROLES)
def test_everyone_lists_and_retrieves_users_with_task_stats(people, client_for, role):
    client = client_for(people[role])

    listing = client.get(reverse("user-list"))
    detail = client.get(reverse("user-detail", args=[people["outsider"].id]))

    assert listing.status_code == 200 and listing.json()["count"] == 7
    assert detail.status_code == 200
    assert set(detail.json()["task_stats"]) == {"total", "todo", "in_progress", "done", "failed", "overdue"}


@pytest.mark.parametrize("role", ROLES)
def test_only_people_admins_create_users(people, client_for, role):
    body = {"email": f"hire-{role}@example.com", "name": "Hire", "role": "employee", "password": "Sup3r-secret-pw"}

    response = client_for(people[role]).post(reverse("user-list"), body, format="json")

    assert response.status_code == (201 if role in ADMINS else 403)
    assert User.objects.filter(email=body["email"]).exists() == (role in ADMINS)


@pytest.mark.parametrize("role", ROLES)
def test_only_people_admins_change_roles_and_departments(people, client_for, role):
    target = people["outsider"]

    response = client_for(people[role]).patch(
        reverse("user-detail", args=[target.id]),
        {"role": "manager", "department": people["dept_a"].id},
        format="json",
    )

    target.refresh_from_db()
    if role in ADMINS:
        assert response.status_code == 200
        assert (target.role, target.department_id) == ("manager", people["dept_a"].id)
    else:
        assert response.status_code == 403
        assert (target.role, target.department_id) == ("employee", people["dept_b"].id)


@pytest.mark.parametrize("role", ROLES)
def test_only_people_admins_deactivate(people, client_for, role):
    target = people["assignee"]

    response = client_for(people[role]).delete(reverse("user-detail", args=[target.id]))

    target.refresh_from_db()
    assert response.status_code == (204 if role in ADMINS else 403)
    assert target.is_active == (role not in ADMINS)
    assert User.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("role", ["manager", "creator", "outsider"])
def test_a_user_may_patch_their_own_name_only(people, client_for, role):
    me = people[role]
    client = client_for(me)

    renamed = client.patch(reverse("user-detail", args=[me.id]), {"name": "New Name"}, format="json")
    promoted = client.patch(reverse("user-detail", args=[me.id]), {"name": "X", "role": "ceo"}, format="json")

    me.refresh_from_db()
    assert renamed.status_code == 200 and renamed.json()["name"] == "New Name"
    assert promoted.status_code == 403 and "role" in promoted.json()["detail"]
    assert (me.name, me.role) == ("New Name", people[role].role)


def test_user_filters_and_search(people, client_for):
    client = client_for(people["ceo"])

    by_role = client.get(reverse("user-list"), {"role": "manager"}).json()
    by_dept = client.get(reverse("user-list"), {"department": people["dept_b"].id}).json()
    by_search = client.get(reverse("user-list"), {"search": "outsider@"}).json()
    by_uuid = client.get(reverse("user-list"), {"external_id": str(people["hr"].external_id)}).json()

    assert {u["email"] for u in by_role["results"]} == {"manager@example.com", "other.manager@example.com"}
    assert {u["email"] for u in by_dept["results"]} == {"other.manager@example.com", "outsider@example.com"}
    assert [u["email"] for u in by_search["results"]] == ["outsider@example.com"]
    assert [u["email"] for u in by_uuid["results"]] == ["hr@example.com"]


@pytest.mark.parametrize("role", ROLES)
def test_departments_read_for_all_write_for_people_admins(people, client_for, role):
    client = client_for(people[role])
    allowed = role in ADMINS

    listing = client.get(reverse("department-list"))
    created = client.post(reverse("department-list"), {"name": f"Ops {role}"}, format="json")
    renamed = client.patch(reverse("department-detail", args=[people["dept_b"].id]), {"name": "Renamed"}, format="json")
    deleted = client.delete(reverse("department-detail", args=[people["dept_a"].id]))

    assert listing.status_code == 200 and listing.json()["count"] >= 2
    assert created.status_code == (201 if allowed else 403)
    assert renamed.status_code == (200 if allowed else 403)
    assert deleted.status_code == (204 if allowed else 403)
    assert Department.objects.filter(name=f"Ops {role}").exists() == allowed
    assert Department.objects.filter(name="Renamed").exists() == allowed
    assert Department.objects.filter(pk=people["dept_a"].id).exists() == (not allowed)


@pytest.mark.parametrize("page_size", [1, 100])
def test_user_list_runs_a_fixed_number_of_queries(people, client_for, django_assert_max_num_queries, page_size):
    from accounts.tests.factories import UserFactory

    UserFactory.create_batch(30)
    client = client_for(people["ceo"])

    with django_assert_max_num_queries(3):
        response = client.get(reverse("user-list"), {"page_size": page_size})

    assert len(response.json()["results"]) == min(page_size, 37)


def test_page_size_is_capped_at_100(people, client_for):
    from accounts.tests.factories import UserFactory

    UserFactory.create_batch(110)

    body = client_for(people["ceo"]).get(reverse("user-list"), {"page_size": 500}).json()

    assert len(body["results"]) == 100 and body["count"] == 117 and body["next"]
