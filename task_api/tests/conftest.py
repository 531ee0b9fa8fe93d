import pytest

from accounts.tests.factories import UserFactory
from task_api.tests import sample_tasks  # noqa: F401  (registers the sample tasks in this process)
from task_api.tests.factories import grant

RUNNER_PERM = "task_api.run_benchmarks"


@pytest.fixture
def runner(db):
    """A user allowed to run the sample tasks."""
    return grant(UserFactory(email="runner@example.com"), RUNNER_PERM)


@pytest.fixture
def sent(monkeypatch):
    """Records the messages the API hands to the broker instead of sending them."""
    from task_api.registry import registry

    messages = []

    def fake_apply_async(entry):
        def apply_async(args=None, kwargs=None, **options):
            messages.append({"task": entry.name, "args": args, "kwargs": kwargs, **options})

        return apply_async

    for entry in registry.all():
        monkeypatch.setattr(entry.task, "apply_async", fake_apply_async(entry))
    return messages
