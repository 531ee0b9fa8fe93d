import factory

from tasks.tests import factories as tasks_factories


class TaskFactory(tasks_factories.TaskFactory):
    """A bare task row, in no department and with no due date unless a test says so."""

    department = None
    due_date = None


class CommentFactory(tasks_factories.CommentFactory):
    task = factory.SubFactory(TaskFactory)
    author = factory.SelfAttribute("task.creator")
