from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory
from attachments.models import Attachment
from attachments.tests.factories import stored_files, upload
from comments.models import Comment

from .factories import CommentFactory, TaskFactory

# The personas of the comment and attachment matrices, and which of them see the task.
PERSONAS = ["ceo", "hr", "manager", "other_manager", "creator", "assignee", "assigner", "outsider"]
SEES_TASK = {"ceo", "hr", "manager", "creator", "assignee", "assigner"}


def expect(persona, *, allowed, granted_to, refused=403, invisible=404):
    if persona not in SEES_TASK:
        return invisible
    return allowed if persona in granted_to else refused


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test stores files in its own directory, so what is on disk can be asserted."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def cast(people):
    """The shared personas plus two more people the task involves.

    `assigner` assigned the task, so they see it without being an editor or an assignee;
    `colleague` is a second assignee whose comment and attachment are "someone else's".
    """
    return {
        **people,
        "assigner": UserFactory(email="assigner@example.com", department=people["dept_a"]),
        "colleague": UserFactory(email="colleague@example.com", department=people["dept_a"]),
    }


@pytest.fixture
def task(cast):
    """A dept_a task created by `creator`, assigned by `assigner` to `assignee` and `colleague`."""
    return TaskFactory(
        title="Quarterly plan",
        creator=cast["creator"],
        assigned_by=cast["assigner"],
        department=cast["dept_a"],
        assignees=[cast["assignee"], cast["colleague"]],
    )


@pytest.fixture
def world(cast, task, media_root):
    """Someone else's comment and attachment on the task, and a way to see if anything changed."""
    others_comment = CommentFactory(task=task, author=cast["colleague"], content="original")
    others_file = upload(task=task, by=cast["colleague"], name="plan.txt", data=b"plan v1")

    def snapshot():
        return (
            sorted(Comment.objects.values_list("id", "task_id", "author_id", "content")),
            sorted(Attachment.objects.values_list("id", "task_id", "file", "name", "size")),
            stored_files(media_root),
        )

    return {"comment": others_comment, "attachment": others_file, "snapshot": snapshot}


@pytest.fixture
def many(cast):
    """Twelve visible tasks in dept_a, each with two comments and two attachments."""
    tasks = TaskFactory.create_batch(
        12, creator=cast["creator"], department=cast["dept_a"], assignees=[cast["assignee"]]
    )
    for task in tasks:
        CommentFactory.create_batch(2, task=task, author=cast["assignee"])
        upload(task=task, by=cast["assignee"])
        upload(task=task, by=cast["creator"])
    return tasks


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rows(cast, task):
    """One comment and one attachment on the task, for the admin's search and pages."""
    return CommentFactory(task=task, author=cast["assignee"], content="budget question"), upload(
        task=task, by=cast["creator"], name="budget.xlsx"
    )
