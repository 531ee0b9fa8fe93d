"""Task results land in django-celery-results' table, each state change in one statement."""

import uuid

import pytest
from celery import states
from celery.app.task import Context
from django_celery_results.backends.database import DatabaseBackend as OriginalBackend
from django_celery_results.models import TaskResult

from config.celery import app
from core.results import DatabaseBackend, hold_success, store_held, take_held

pytestmark = pytest.mark.django_db


@pytest.fixture
def backend():
    assert isinstance(app.backend, DatabaseBackend)
    return app.backend


def test_each_state_change_is_one_statement_on_one_row(backend, django_assert_num_queries):
    task_id = str(uuid.uuid4())

    with django_assert_num_queries(1):
        backend.store_result(task_id, {"percent": 50, "message": "half"}, "PROGRESS")
    first = TaskResult.objects.get(task_id=task_id)
    with django_assert_num_queries(1):
        backend.mark_as_done(task_id, 5)

    row = TaskResult.objects.get(task_id=task_id)
    assert (row.status, row.date_created) == (states.SUCCESS, first.date_created)
    assert row.date_done >= first.date_done
    assert backend.get_result(task_id) == 5
    assert TaskResult.objects.filter(task_id=task_id).count() == 1


COLUMNS = ["status", "result", "traceback", "meta", "content_type", "content_encoding", "task_name", "worker"]


@pytest.mark.parametrize(
    "steps",
    [
        [("store_result", {"percent": 50}, "PROGRESS"), ("mark_as_done", 5)],
        [("mark_as_failure", ValueError("bad input"))],
        [("store_result", None, "RETRY"), ("mark_as_failure", KeyError("k"))],
        [("mark_as_revoked", "cancelled")],
    ],
)
def test_rows_match_what_django_celery_results_stores(backend, steps):
    original = OriginalBackend(app=app)
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())

    for name, *args in steps:
        getattr(backend, name)(ours, *args)
        getattr(original, name)(theirs, *args)

    mine = TaskResult.objects.values(*COLUMNS).get(task_id=ours)
    reference = TaskResult.objects.values(*COLUMNS).get(task_id=theirs)
    assert mine == reference
    assert backend.get_task_meta(ours)["status"] == reference["status"]


def test_a_started_state_records_its_start(backend):
    task_id = str(uuid.uuid4())

    backend.store_result(task_id, None, states.STARTED)
    backend.mark_as_done(task_id, 1)

    row = TaskResult.objects.get(task_id=task_id)
    assert row.status == states.SUCCESS and row.date_started is not None


@pytest.mark.django_db(transaction=True)
def test_a_state_is_stored_in_autocommit_without_a_transaction_of_its_own(backend):
    """bulk_create would wrap the upsert in BEGIN ... COMMIT: two more round trips per result."""
    from django.db import connection

    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split()[0], connection.in_atomic_block))
        return execute(sql, params, many, context)

    task_id = str(uuid.uuid4())
    with connection.execute_wrapper(record):
        backend.store_result(task_id, {"percent": 50}, "PROGRESS")
        backend.mark_as_done(task_id, 5)

    assert seen == [("INSERT", False), ("INSERT", False)]
    row = TaskResult.objects.get(task_id=task_id)
    assert (row.status, row.result, row.date_created is not None) == (states.SUCCESS, "5", True)


def test_a_held_success_is_written_only_by_its_holder_and_as_the_backend_writes_it(
    backend, django_assert_num_queries
):
    """hold_success: the run's SUCCESS row is worked out as ever but sent later, by whoever takes it."""
    original = OriginalBackend(app=app)
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    request = Context(id=ours, args=[1, 2], kwargs={"x": 1}, task="tests.add", hostname="worker@host")
    hold_success(ours)

    with django_assert_num_queries(0):
        backend.mark_as_done(ours, {"sum": 3}, request=request)
    held = take_held(ours)
    assert not TaskResult.objects.filter(task_id=ours).exists()
    assert len(held) == 1 and held[0].sql.startswith("INSERT")
    with django_assert_num_queries(1):
        store_held(held)
    original.mark_as_done(theirs, {"sum": 3}, request=Context(request.__dict__, id=theirs))

    mine = TaskResult.objects.values(*COLUMNS, "task_args", "task_kwargs").get(task_id=ours)
    assert mine == TaskResult.objects.values(*COLUMNS, "task_args", "task_kwargs").get(task_id=theirs)
    assert backend.get_result(ours) == {"sum": 3}


def test_only_a_success_is_held_and_taking_it_ends_the_hold(backend):
    request = Context(id=str(uuid.uuid4()), task="tests.add")
    hold_success(request.id)

    backend.store_result(request.id, {"percent": 50}, "PROGRESS", request=request)
    assert TaskResult.objects.get(task_id=request.id).status == "PROGRESS"  # written at once
    assert take_held(request.id) == [] and take_held(request.id) == []

    backend.mark_as_done(request.id, 5, request=request)  # no longer held
    assert TaskResult.objects.get(task_id=request.id).status == states.SUCCESS
