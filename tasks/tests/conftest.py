import pytest

from accounts.tests.factories import UserFactory
from tasks.models import Task, TaskAssignment, TaskStatusHistory

from .factories import TaskFactory


@pytest.fixture
def cast(people):
    """The shared personas plus `assigner`, who sees the task only because they assigned it,
    and `colleague`, a dept_a employee the task can be handed to."""
    return {
        **people,
        "assigner": UserFactory(email="assigner@example.com", name="Ada Assigner", department=people["dept_a"]),
        "colleague": UserFactory(email="colleague@example.com", name="Colin Colleague", department=people["dept_a"]),
    }


@pytest.fixture
def task(cast):
    """A dept_a task created by `creator`, assigned by `assigner` to `assignee`, with its audit rows."""
    task = TaskFactory(
        title="Quarterly plan",
        creator=cast["creator"],
        department=cast["dept_a"],
        assigned_by=cast["assigner"],
        assignees=[cast["assignee"]],
    )
    TaskStatusHistory.objects.create(task=task, from_status="", to_status=Task.Status.TODO, changed_by=cast["creator"])
    TaskAssignment.objects.create(task=task, assigned_to=cast["assignee"], assigned_by=cast["assigner"])
    return task


def snapshot(task):
    """Everything a refused write must leave untouched."""
    row = Task.all_objects.filter(pk=task.pk).values().get()
    return (
        row,
        sorted(task.assignees.values_list("pk", flat=True)),
        list(TaskStatusHistory.objects.filter(task=task).values_list("id", "to_status")),
        list(TaskAssignment.objects.filter(task=task).values_list("id", "action", "assigned_to")),
    )
