"""Schemathesis over every operation of /api/v1/schema/, in process, as a CEO and as an employee.

Each operation gets schemathesis' explicit examples, its coverage phase (boundary and
negative values, unexpected methods) and `SCHEMA_FUZZ_EXAMPLES` fuzzed cases in both
positive and negative modes, and every response is checked against the schema: no 5xx,
documented status codes, headers, content types and bodies, negative data refused, and
authentication enforced. A failure is a lie in the schema or a bug in the API; fix the
schema (or the API), not the check.
"""

import contextlib
import math
import os
import re
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, assume, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

SCHEMA_URL = "/api/v1/schema/?format=json"
# /api/v1/<resource>/{<parameter>}/...: the resource names the seeded ids to use.
RESOURCE_PATH = re.compile(r"^/api/v1/(?:task-api/)?([\w-]+)/\{(\w+)\}")
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "25"))

# Every built-in check, minus those that cannot apply to a single-case run here:
# - positive_data_acceptance expects 2xx for any schema-valid input, but valid-shaped data
#   meets business rules the schema cannot express (a due date must be in the future,
#   only a task's editors may change it, ids must exist and be visible): a 400/403/404
#   there is the documented answer, not a bug.
# - use_after_free / ensure_resource_availability / object_level_authorization follow
#   links between recorded calls in a stateful run (or compare identities); a
#   parametrised single-case test has no such history, so they would check nothing.
# - max_response_time: timing is no contract here (bench/ measures it; a long-poll holds
#   by design) and a loaded CI machine would make it flaky.
NOT_APPLICABLE = ["positive_data_acceptance", "use_after_free", "ensure_resource_availability",
                  "object_level_authorization", "max_response_time"]

schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, application)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    # A fixed seed per operation: the suite is reproducible; raise SCHEMA_FUZZ_EXAMPLES
    # (or unset SCHEMA_FUZZ_DETERMINISTIC) to explore further.
    deterministic=os.environ.get("SCHEMA_FUZZ_DETERMINISTIC", "1") == "1",
    database="none",
    # The requester's credentials come from the test (a DRF token per role); generated ones
    # would only be replaced, turning a negative case positive behind schemathesis' back.
    with_security_parameters=False,
)
schema.config.checks.update(included_check_names=["all"], excluded_check_names=NOT_APPLICABLE)
# Refusals of invalid input besides schemathesis' defaults: a failing If-Match is checked
# (RFC 9110 §13.2.2) before the body is read, and a body too large is refused unread.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses, "412", "413",
]


def _seed(people):
    """Objects of every kind and state for each requester, and others' they cannot see."""
    from accounts.services import api_key_create
    from attachments.tests.factories import upload
    from notifications.services import notification_mark_read
    from notifications.tests.factories import NotificationFactory
    from task_api.models import TaskExecution
    from task_api.services.schedules import schedule_create
    from task_api.tests.factories import TaskExecutionFactory, grant
    from tasks import services as task_services
    from tasks.models import TaskAssignment
    from tasks.tests.factories import CommentFactory
    from webhooks.tests.factories import DeliveryFactory

    now = timezone.now()
    executions = [
        (TaskExecution.Status.PENDING, {}),
        (TaskExecution.Status.SCHEDULED, {"scheduled_at": now + timedelta(hours=1)}),
        (TaskExecution.Status.PROGRESS, {"started_at": now, "progress": {"percent": 50, "message": "Halfway"}}),
        (TaskExecution.Status.SUCCESS, {"started_at": now, "completed_at": now, "result": {"sum": 3}}),
        (TaskExecution.Status.FAILURE, {"started_at": now, "completed_at": now, "error": "ValueError: no",
                                        "traceback": "Traceback (most recent call last): ..."}),
    ]

    def objects_of(user, department):
        task = task_services.task_create(
            creator=user, title="Fuzzed", department=department, due_date=now + timedelta(days=3),
            estimate_hours=Decimal("2.5"), assignees=[people["assignee"]],
        )
        done = task_services.task_create(creator=user, title="Done", department=None)
        task_services.task_mark_done(task=done, by=user)
        read = NotificationFactory(recipient=user, task=task)
        notification_mark_read(notification=read)
        runs = [TaskExecutionFactory(user=user, status=status, **fields) for status, fields in executions]
        api_key_create(user=user, name="expiring", expires_at=now + timedelta(days=30))
        return {
            "tasks": task.pk,
            "comments": CommentFactory(task=task, author=user).pk,
            "attachments": upload(task=task, by=user).pk,
            "notifications": NotificationFactory(recipient=user, task=task).pk,
            "api-keys": api_key_create(user=user, name="fuzz")[0].pk,
            "executions": runs[0].pk,
            "schedules": schedule_create(user=user, task_name="task_api.tasks.add", args=[1, 2], kwargs={},
                                         interval={"every": 60, "period": "seconds"}).pk,
            "task-assignments": TaskAssignment.objects.filter(task=task).first().pk,
            "users": user.pk,
            "departments": department.pk,
            "webhooks": DeliveryFactory(webhook__owner=user, status="failed").webhook_id,
        }

    people["employee"] = people["creator"]
    for role in ("ceo", "employee", "outsider"):
        people[role] = grant(people[role], "task_api.run_benchmarks")
    others = objects_of(people["outsider"], people["dept_b"])
    return {
        role: {name: [pk, others[name]] for name, pk in objects_of(people[role], people["dept_a"]).items()}
        for role in ("ceo", "employee")
    }


@pytest.fixture
def seeded(people, settings, tmp_path, monkeypatch):
    from rest_framework.authtoken.models import Token
    from rest_framework.throttling import SimpleRateThrottle

    from task_api import selectors as task_api_selectors

    settings.MEDIA_ROOT = tmp_path
    # The live event stream ends (and the fuzzer reads its end) right after its first read.
    settings.LIVE_STREAM_SECONDS = 0.05
    # Throttles would answer every request after the first few with 429 (documented, but it
    # hides what the API does with the input); the rates stay in force, only very high.
    rates = {scope: "100000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for scope, rate in rates.items():
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)
    # A long-poll on an execution no worker will run holds for its whole `wait`; the fuzz
    # checks the answer, not the waiting, so each wait ends after a moment.
    real_wait = task_api_selectors.execution_wait_until_complete
    monkeypatch.setattr(task_api_selectors, "execution_wait_until_complete",
                        lambda **kwargs: real_wait(**{**kwargs, "timeout": min(kwargs["timeout"], 0.05)}))
    real_submit_and_wait = task_api_selectors.execution_submit_and_wait
    monkeypatch.setattr(task_api_selectors, "execution_submit_and_wait",
                        lambda **kwargs: real_submit_and_wait(**{**kwargs, "timeout": min(kwargs["timeout"], 0.05)}))
    ids = _seed(people)
    tokens = {role: Token.objects.get_or_create(user=people[role])[0].key for role in ("ceo", "employee")}
    return tokens, ids


@pytest.fixture(autouse=True)
def keep_test_connection(db):
    """The WSGI handler closes "old" database connections around each request, which would
    close the test's transaction; Django's own test client unhooks it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ["ceo", "employee"])
@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_api_tells_the_truth_about_itself(case, role, seeded):
    tokens, ids = seeded
    assume(not drf_reads_as_valid(case))
    use_real_id(case, ids[role])
    case.call_and_validate(headers={"Authorization": f"Token {tokens[role]}"})


def drf_reads_as_valid(case):
    """Whether a negative body breaks the schema only by how one scalar is spelled, in a way
    DRF reads as a valid value: a number for a string (`0` is "0"), 0/1 or "true" for a
    boolean, "5" or 5.0 for an integer, a numeric string for a number, surrounding spaces
    on a string it trims before checking its length. DRF coerces these by design (see
    encode/django-rest-framework#3394, #4380) and JSON Schema cannot say so; any other
    invalid body must still be refused.
    """
    body = case.meta.components.get(ParameterLocation.BODY) if case.meta else None
    if body is None or body.mode != GenerationMode.NEGATIVE or case.media_type != "application/json":
        return False
    schema_of_body = case.operation.get_body_for_media_type(case.media_type)
    return any(schema_of_body.is_valid(variant) for variant in one_scalar_respelled(case.body))


BOOLEAN_SPELLINGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False,
                     "off": False}


def one_scalar_respelled(value):
    """`value` with one scalar replaced by another JSON value DRF reads the same way."""
    if isinstance(value, dict):
        for key, item in value.items():
            for variant in one_scalar_respelled(item):
                yield {**value, key: variant}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for variant in one_scalar_respelled(item):
                yield [*value[:index], variant, *value[index + 1:]]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)
        if value in (0, 1):
            yield bool(value)
        if isinstance(value, float) and value.is_integer():
            yield int(value)
    elif isinstance(value, str):
        yield value.strip()
        if value.strip().lower() in BOOLEAN_SPELLINGS:
            yield BOOLEAN_SPELLINGS[value.strip().lower()]
        # DRF's IntegerField refuses strings longer than 1000 characters outright.
        if len(value) <= 1000 and re.fullmatch(r"\s*-?\d+(\.0*)?\s*", value):
            yield int(value.strip().split(".")[0])
        with contextlib.suppress(ValueError):
            number = float(value)
            if math.isfinite(number):
                yield number


def use_real_id(case, ids):
    """Two cases in three address an object that exists (the requester's own, or one they
    cannot see), so detail operations get past the 404; only a path meant to be valid.

    The choice is drawn from the generated id itself: explicit (coverage) examples cannot
    draw from Hypothesis, and this keeps shrinking and replay deterministic."""
    match = RESOURCE_PATH.match(case.operation.path)
    if match is None or not case.path_parameters:
        return
    component = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if component is not None and component.mode != GenerationMode.POSITIVE:
        return
    resource, name = match.groups()
    choice = zlib.crc32(str(case.path_parameters.get(name)).encode()) % 3
    if choice:
        pk = ids[resource][choice - 1]
        case.path_parameters[name] = pk if isinstance(pk, int) else str(pk)


# The answers the CEO's schemathesis run found undocumented or documented wrong, replayed
# one by one: each must be what the API answers and what the schema says it answers.
REPLAYS = {
    "field errors are a documented 400 body": ("POST", "/api/v1/departments/", {"body": {"name": ""}}, 400),
    "a service's field error too": (
        "POST", "/api/v1/api-keys/", {"body": {"name": "k", "expires_at": "2001-01-01T00:00:00Z"}}, 400),
    "history is a list": ("GET", "/api/v1/tasks/{id}/history/", {}, 200),
    "a bad filter is a documented 400": ("GET", "/api/v1/attachments/", {"query": {"uploaded_by": "null"}}, 400),
    "a bad task filter too": ("GET", "/api/v1/tasks/", {"query": {"department": "x", "status": "nope"}}, 400),
    "a boolean filter refuses what is no boolean": ("GET", "/api/v1/users/", {"query": {"is_active": "maybe"}}, 400),
    "page_size must be a number": ("GET", "/api/v1/comments/", {"query": {"page_size": "many"}}, 400),
    "an empty filter is no filter": ("GET", "/api/v1/tasks/", {"query": {"department": "", "page_size": ""}}, 200),
    "a page past the end is a documented 404": ("GET", "/api/v1/tasks/", {"query": {"page": 999}}, 404),
    "bad credentials are a documented 401": (
        "POST", "/api/v1/auth/login/", {"body": {"email": "nobody@example.com", "password": "wrong"}}, 401),
    "a bad refresh token too": ("POST", "/api/v1/auth/refresh/", {"body": {"refresh": "not-a-token"}}, 401),
    "an unread media type is a documented 415": (
        "POST", "/api/v1/departments/", {"body": "name=x", "media_type": "text/plain"}, 415),
    "a download is the file's own type": ("GET", "/api/v1/attachments/{id}/download/", {}, 200),
    "a schedule that never ran says null": ("GET", "/api/v1/task-api/schedules/", {}, 200),
    "a notification id is an integer": ("POST", "/api/v1/notifications/{id}/read/", {}, 200),
    "cancelling a finished run is a documented 409": ("POST", "/api/v1/task-api/executions/{id}/cancel/", {}, 409),
}


@pytest.mark.parametrize("method, path, request_data, status", REPLAYS.values(), ids=REPLAYS.keys())
def test_answers_are_documented(method, path, request_data, status, seeded):
    from task_api.models import TaskExecution

    tokens, ids = seeded
    # The run the path names has finished, so cancelling it is a conflict.
    TaskExecution.objects.filter(pk=ids["ceo"]["executions"][0]).update(status=TaskExecution.Status.SUCCESS)
    match = RESOURCE_PATH.match(path)
    path_parameters = {match.group(2): str(ids["ceo"][match.group(1)][0])} if match else {}
    case = schema[path][method].Case(path_parameters=path_parameters, **request_data)

    response = case.call(headers={"Authorization": f"Token {tokens['ceo']}"})

    assert response.status_code == status, response.text
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )


def test_list_parameters_say_an_empty_value_is_no_value():
    operation = schema.raw_schema["paths"]["/api/v1/tasks/"]["get"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}

    assert all(parameter.get("allowEmptyValue") for parameter in query.values())
    assert query["page_size"]["schema"]["minimum"] == 1


def test_a_degraded_health_answer_is_documented(monkeypatch):
    from core import views

    monkeypatch.setitem(views.CHECKS, "broker", lambda: False)
    case = schema["/api/v1/health/"]["GET"].Case()

    response = case.call()

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "application/json" in schema.raw_schema["paths"]["/api/v1/health/"]["get"]["responses"]["503"]["content"]
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )


@pytest.mark.parametrize("ordering", [",,,,", ",", "-due_date,,priority"])
def test_empty_items_in_the_task_ordering_are_ignored(ordering, seeded):
    tokens, ids = seeded
    case = schema["/api/v1/tasks/"]["GET"].Case(query={"ordering": ordering})

    response = case.call(headers={"Authorization": f"Token {tokens['ceo']}"})

    assert response.status_code == 200, response.text
    assert response.json()["count"] >= 1
