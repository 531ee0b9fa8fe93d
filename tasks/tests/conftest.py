import pytest
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from tasks.models import Task, TaskAssignment, TaskStatusHistory

from .factories import TaskFactory


@pytest.fixture
def cast(people):
    """The shared personas plus `assigner`, an employee who sees the task only because they
    assigned it; `colleague`, a dept_a employee the task can be handed to; `second_manager`,
    a manager of dept_a who is not its designated manager; and `assigning_manager`, a dept_b
    manager (not designated) who made the task's assignment in `task_for("assigning_manager")`."""
    return {
        **people,
        "assigner": UserFactory(email="assigner@example.com", name="Ada Assigner", department=people["dept_a"]),
        "colleague": UserFactory(email="colleague@example.com", name="Colin Colleague", department=people["dept_a"]),
        "second_manager": UserFactory(
            email="second.manager@example.com", role=User.Role.MANAGER, department=people["dept_a"]
        ),
        "assigning_manager": UserFactory(
            email="assigning.manager@example.com", role=User.Role.MANAGER, department=people["dept_b"]
        ),
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


@pytest.fixture
def task_for(cast, task):
    """task_for(persona) -> the task as that persona meets it: `task`, except that for
    `assigning_manager` they, not `assigner`, made its assignment (task.assigned_by and the
    assignment record), as when a manager of another department assigned someone to it."""

    def make(persona):
        if persona == "assigning_manager":
            Task.objects.filter(pk=task.pk).update(assigned_by=cast["assigning_manager"])
            TaskAssignment.objects.filter(task=task).update(assigned_by=cast["assigning_manager"])
            task.refresh_from_db()
        return task

    return make


def snapshot(task):
    """Everything a refused write must leave untouched."""
    row = Task.all_objects.filter(pk=task.pk).values().get()
    return (
        row,
        sorted(task.assignees.values_list("pk", flat=True)),
        list(TaskStatusHistory.objects.filter(task=task).values_list("id", "to_status")),
        list(TaskAssignment.objects.filter(task=task).values_list("id", "action", "assigned_to")),
    )


@pytest.fixture
def some_tasks(cast):
    """A few tasks of the personas among 5,000 of others, with fresh planner statistics."""
    others = UserFactory.create_batch(50, department=cast["dept_b"])
    Task.objects.bulk_create(
        Task(title=f"Task {n}", description="Routine work", creator=others[n % 50], department=cast["dept_b"])
        for n in range(5000)
    )
    mine = TaskFactory.create_batch(
        5, title="Budget review", creator=cast["manager"], department=cast["dept_a"], assignees=[cast["assignee"]]
    )
    with connection.cursor() as cursor:
        # Indexes as these rows alone make them: pages earlier tests' rolled-back rows left in
        # them (GIN's above all) would weigh on the planner's costs, and flip near choices.
        cursor.execute("REINDEX TABLE tasks_task")
        cursor.execute("ANALYZE")
    return mine
