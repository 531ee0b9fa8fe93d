from unittest import mock

import pytest

from comments import services
from comments.models import Comment

from .factories import CommentFactory


def test_comment_create_notifies_inside_its_transaction(task, cast):
    with mock.patch("notifications.services.notify_task_commented", side_effect=RuntimeError("down")):
        with pytest.raises(RuntimeError):
            services.comment_create(task=task, author=cast["assignee"], content="hi")

    # The failing notification rolled the comment back with it.
    assert not Comment.objects.exists()

    with mock.patch("notifications.services.notify_task_commented") as notify:
        comment = services.comment_create(task=task, author=cast["assignee"], content="hi")
    notify.assert_called_once_with(comment=comment)


def test_comment_update_changes_only_the_text(task, cast):
    comment = CommentFactory(task=task, author=cast["assignee"], content="old")

    services.comment_update(comment=comment, content="new")

    comment.refresh_from_db()
    assert (comment.content, comment.task_id, comment.author_id) == ("new", task.pk, cast["assignee"].pk)
