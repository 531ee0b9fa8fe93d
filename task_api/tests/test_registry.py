import pytest
from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError

from task_api.decorators import api_task
from task_api.registry import registry
from task_api.tests import sample_tasks

TWO_PERMS = "task_api.tests.sample_tasks.two_permissions"


def test_decorator_registers_name_description_and_permissions():
    entry = registry.get(TWO_PERMS)

    assert entry.description == "Needs two permissions."
    assert entry.permissions == ("task_api.run_reports", "task_api.send_emails")
    assert entry.task is sample_tasks.two_permissions._get_current_object()


def test_parameters_come_from_the_signature_without_self():
    parameters = [p.as_dict() for p in registry.get(TWO_PERMS).parameters]

    assert parameters == [
        {"name": "a", "kind": "positional", "required": True, "default": None},
        {"name": "b", "kind": "positional", "required": False, "default": 2},
        {"name": "*rest", "kind": "positional", "required": False, "default": None},
        {"name": "c", "kind": "keyword", "required": True, "default": None},
        {"name": "d", "kind": "keyword", "required": False, "default": "x"},
        {"name": "**extra", "kind": "keyword", "required": False, "default": None},
    ]


def test_example_tasks_are_registered_and_plain_celery_tasks_are_not():
    for name in (
        "accounts.tasks.send_verification_email",
        "tasks.reports.tasks_summary_report",
        "task_api.tasks.add",
        "task_api.tasks.purge_executions",
    ):
        assert name in registry, name
    assert "core.tasks.ping" not in registry
    assert "task_api.tasks.dispatch_due_executions" not in registry


def test_default_time_limits_fill_in_only_what_the_task_left_unset():
    add = registry.get("task_api.tasks.add").task
    two = registry.get(TWO_PERMS).task

    assert (add.time_limit, add.soft_time_limit) == (
        settings.CELERY_TASK_TIME_LIMIT,
        settings.CELERY_TASK_SOFT_TIME_LIMIT,
    )
    assert two.time_limit == 30
    assert all(entry.task.time_limit and entry.task.soft_time_limit for entry in registry.all())


def test_decorator_below_shared_task_is_refused():
    with pytest.raises(TypeError, match="above @shared_task"):

        @shared_task
        @api_task(["task_api.run_reports"], "wrong order")
        def wrong_order():
            pass


def test_permissions_must_be_a_list():
    with pytest.raises(TypeError, match="list of permissions"):
        api_task("task_api.run_reports", "a string")


@pytest.mark.parametrize(
    "name, args, kwargs, problem",
    [
        (TWO_PERMS, [], {"c": "z"}, "missing a required argument: 'a'"),
        (TWO_PERMS, [1], {}, "missing a required argument: 'c'"),
        ("task_api.tasks.add", [1, 2, 3], {}, "too many positional arguments"),
        ("task_api.tasks.add", [1], {"x": 1}, "multiple values for argument 'x'"),
    ],
)
def test_check_arguments_names_the_problem(name, args, kwargs, problem):
    with pytest.raises(ValidationError) as error:
        registry.get(name).check_arguments(args, kwargs)

    assert problem in str(error.value)


def test_check_arguments_accepts_what_the_signature_accepts():
    registry.get(TWO_PERMS).check_arguments([1, 2, 3, 4], {"c": "z", "anything": True})
    with pytest.raises(ValidationError, match="unexpected keyword argument 'nope'"):
        registry.get("task_api.tasks.add").check_arguments([1, 2], {"nope": 1})


def test_registered_task_still_runs_as_a_plain_celery_task():
    assert sample_tasks.two_permissions.apply(args=[1], kwargs={"c": "z"}).get() == 3
