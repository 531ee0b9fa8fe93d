from rest_framework import serializers

from core.expand import ExpandableField
from tasks.serializers import UserBriefSerializer, VisibleTaskField

from .models import Comment

# Comments and task descriptions share one cap: room for pages of text, and a bound on what one
# request can store and every later read must carry.
COMMENT_MAX_LENGTH = 20_000


# `?expand=author`: the author as a person instead of an id.
COMMENT_EXPANSIONS = ("author",)


class CommentSerializer(serializers.ModelSerializer):
    task = VisibleTaskField()
    author = ExpandableField(brief=UserBriefSerializer)
    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "content", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class CommentUpdateSerializer(serializers.ModelSerializer):
    """A comment stays on its task: only the text changes."""

    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
    author = ExpandableField(brief=UserBriefSerializer)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "content", "created_at"]
        read_only_fields = ["id", "task", "author", "created_at"]


class TaskCommentCreateSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
