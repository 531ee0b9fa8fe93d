"""API-key scopes and allowed_tasks (SPEC §10): set, shown, edited, and enforced on every view."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create
from accounts.tests.factories import UserFactory
from task_api.models import TaskExecution
from task_api.registry import registry
from task_api.tests.factories import TaskExecutionFactory, grant
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

ADD = "task_api.tasks.add"
ALL_SCOPES = ["read", "write", "execute"]


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.fixture
def owner():
    return grant(UserFactory(email="owner@example.com"), "task_api.run_benchmarks")


@pytest.fixture
def no_broker(monkeypatch):
    """Execute hands nothing to a broker: each registered task's apply_async is a no-op."""
    for entry in registry.all():
        monkeypatch.setattr(entry.task, "apply_async", lambda *args, **kwargs: None)


# Setting, showing and editing -----------------------------------------------------------------


def test_new_key_has_every_scope_and_any_task_by_default(client_for, owner):
    response = client_for(owner).post(reverse("api-key-list"), {"name": "ci"}, format="json")

    assert response.status_code == 201
    assert response.json()["scopes"] == ALL_SCOPES
    assert response.json()["allowed_tasks"] == []
    listed = client_for(owner).get(reverse("api-key-list")).json()["results"][0]
    assert (listed["scopes"], listed["allowed_tasks"]) == (ALL_SCOPES, [])


def test_scopes_and_allowed_tasks_are_set_on_create_and_shown(client_for, owner):
    body = {"name": "ci", "scopes": ["execute", "read"], "allowed_tasks": [ADD]}

    created = client_for(owner).post(reverse("api-key-list"), body, format="json")

    assert created.status_code == 201, created.json()
    detail = client_for(owner).get(reverse("api-key-detail", args=[created.json()["id"]])).json()
    assert detail["scopes"] == ["read", "execute"]
    assert detail["allowed_tasks"] == [ADD]


@pytest.mark.parametrize(
    "body, field, named",
    [
        ({"scopes": ["read", "admin"]}, "scopes", "admin"),
        ({"scopes": []}, "scopes", None),
        ({"scopes": "read"}, "scopes", None),
        ({"allowed_tasks": ["no.such.task"]}, "allowed_tasks", "no.such.task"),
    ],
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_bad_scopes_or_task_names_answer_400_naming_them(client_for, owner, body, field, named, method):
    client = client_for(owner)
    if method == "post":
        response = client.post(reverse("api-key-list"), {"name": "ci", **body}, format="json")
    else:
        api_key, _ = api_key_create(user=owner, name="ci")
        response = client.patch(reverse("api-key-detail", args=[api_key.pk]), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    if named:
        assert named in str(response.json()[field])


def test_owner_edits_scopes_and_the_next_key_request_obeys_them(client_for, owner, settings):
    settings.AUTH_CACHE_SECONDS = 60  # the key (with its scopes) is cached between requests
    api_key, raw = api_key_create(user=owner, name="ci")
    service = key_client(raw)
    assert service.post(reverse("task-list"), {"title": "x"}, format="json").status_code == 201

    edited = client_for(owner).patch(
        reverse("api-key-detail", args=[api_key.pk]), {"scopes": ["read"], "name": "reader"}, format="json"
    )

    assert edited.status_code == 200, edited.json()
    assert (edited.json()["name"], edited.json()["scopes"]) == ("reader", ["read"])
    refused = service.post(reverse("task-list"), {"title": "y"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This API key lacks the 'write' scope."
    assert service.get(reverse("task-list")).status_code == 200


def test_key_list_and_detail_take_a_fixed_number_of_queries(client_for, owner, django_assert_max_num_queries):
    keys = [api_key_create(user=owner, name=f"k{n}", allowed_tasks=[ADD])[0] for n in range(5)]
    client = client_for(owner)

    with django_assert_max_num_queries(2):  # count + page
        listed = client.get(reverse("api-key-list"))
    with django_assert_max_num_queries(1):
        detail = client.get(reverse("api-key-detail", args=[keys[0].pk]))

    assert [k["allowed_tasks"] for k in listed.json()["results"]] == [[ADD]] * 5
    assert detail.json()["scopes"] == ALL_SCOPES


def test_allowed_tasks_null_means_any_task(client_for, owner):
    api_key, _ = api_key_create(user=owner, name="ci", allowed_tasks=[ADD])

    response = client_for(owner).patch(
        reverse("api-key-detail", args=[api_key.pk]), {"allowed_tasks": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["allowed_tasks"] == []


def test_a_key_cannot_edit_keys_even_its_own(owner):
    api_key, raw = api_key_create(user=owner, name="ci", scopes=["read"])

    response = key_client(raw).patch(
        reverse("api-key-detail", args=[api_key.pk]), {"scopes": ALL_SCOPES}, format="json"
    )

    assert response.status_code == 403
    assert ApiKey.objects.get(pk=api_key.pk).scopes == ["read"]


def test_another_users_key_is_not_found(client_for, owner):
    api_key, _ = api_key_create(user=UserFactory(), name="theirs")

    response = client_for(owner).patch(reverse("api-key-detail", args=[api_key.pk]), {"name": "x"}, format="json")

    assert response.status_code == 404


# Enforcement: scopes x representative endpoints ----------------------------------------------


def _get_tasks(client, ctx):
    return client.get(reverse("task-list")), 200


def _post_task(client, ctx):
    return client.post(reverse("task-list"), {"title": "From a service"}, format="json"), 201


def _patch_task(client, ctx):
    return client.patch(reverse("task-detail", args=[ctx["task"].pk]), {"title": "Renamed"}, format="json"), 200


def _post_comment(client, ctx):
    return client.post("/api/v1/comments/", {"task": ctx["task"].pk, "content": "Hi"}, format="json"), 201


def _execute(client, ctx):
    body = {"task_name": ADD, "args": [1, 2], "kwargs": {}}
    return client.post("/api/v1/task-api/execute/", body, format="json"), 202


def _cancel(client, ctx):
    return client.post(f"/api/v1/task-api/executions/{ctx['execution'].pk}/cancel/"), 200


def _get_executions(client, ctx):
    return client.get("/api/v1/task-api/executions/"), 200


ENDPOINTS = {
    "GET tasks": (_get_tasks, "read"),
    "POST tasks": (_post_task, "write"),
    "PATCH task": (_patch_task, "write"),
    "POST comment": (_post_comment, "write"),
    "POST execute": (_execute, "execute"),
    "POST cancel": (_cancel, "execute"),
    "GET executions": (_get_executions, "read"),
}
SCOPE_SETS = [["read"], ["write"], ["execute"], ["read", "write"], ALL_SCOPES]


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids="+".join)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_scope_matrix(owner, no_broker, scopes, endpoint):
    call, needed = ENDPOINTS[endpoint]
    ctx = {
        "task": TaskFactory(creator=owner),
        "execution": TaskExecutionFactory(user=owner, status=TaskExecution.Status.PENDING),
    }
    _, raw = api_key_create(user=owner, name="service", scopes=scopes)

    response, success = call(key_client(raw), ctx)

    if needed in scopes:
        assert response.status_code == success, response.json()
    else:
        assert response.status_code == 403
        assert response.json()["detail"] == f"This API key lacks the '{needed}' scope."


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_other_credentials_are_not_scoped(owner, client_for, no_broker, endpoint):
    call, _ = ENDPOINTS[endpoint]
    ctx = {
        "task": TaskFactory(creator=owner),
        "execution": TaskExecutionFactory(user=owner, status=TaskExecution.Status.PENDING),
    }
    api_key_create(user=owner, name="read only", scopes=["read"])

    response, success = call(client_for(owner), ctx)

    assert response.status_code == success


def test_execute_of_a_task_outside_allowed_tasks_is_refused_naming_it(owner, no_broker):
    grant(owner, "task_api.run_maintenance")
    _, raw = api_key_create(user=owner, name="adder", allowed_tasks=[ADD])
    service = key_client(raw)
    other = next(entry.name for entry in registry.all() if entry.name != ADD)

    refused = service.post("/api/v1/task-api/execute/", {"task_name": other, "args": [], "kwargs": {}}, format="json")
    allowed = service.post("/api/v1/task-api/execute/", {"task_name": ADD, "args": [1, 2]}, format="json")

    assert refused.status_code == 403
    assert refused.json()["detail"] == f"This API key may not run the task '{other}'."
    assert allowed.status_code == 202
    assert list(TaskExecution.objects.values_list("task_name", flat=True)) == [ADD]


def test_schedule_create_needs_execute_and_an_allowed_task(owner):
    _, reader = api_key_create(user=owner, name="reader", scopes=["read", "write"])
    _, adder = api_key_create(user=owner, name="adder", allowed_tasks=["task_api.tasks.purge_executions"])
    body = {"task_name": ADD, "args": [1, 2], "interval": {"every": 1, "period": "minutes"}}

    no_scope = key_client(reader).post("/api/v1/task-api/schedules/", body, format="json")
    not_allowed = key_client(adder).post("/api/v1/task-api/schedules/", body, format="json")

    assert no_scope.status_code == 403 and "'execute' scope" in no_scope.json()["detail"]
    assert not_allowed.status_code == 403 and ADD in not_allowed.json()["detail"]


def test_scopes_apply_to_every_drf_view():
    """Enforcement lives in ApiKeyAuthentication: no view may swap the authentication classes out."""
    from django.urls import get_resolver
    from rest_framework.views import APIView

    from accounts.authentication import ApiKeyAuthentication

    def views(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from views(pattern.url_patterns)
            else:
                cls = getattr(pattern.callback, "cls", None)
                if cls is not None and issubclass(cls, APIView):
                    yield cls

    found = list(views(get_resolver().url_patterns))
    assert len(found) > 10
    for cls in found:
        public = not cls.permission_classes or any(p.__name__ == "AllowAny" for p in cls.permission_classes)
        if public:
            continue
        assert ApiKeyAuthentication in cls.authentication_classes, cls
