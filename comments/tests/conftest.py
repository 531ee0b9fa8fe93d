from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory

from .factories import TaskFactory


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
