from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tasks.selectors import tasks_visible_to

from .models import Attachment, Comment

# SPEC §8: comments, like task descriptions, hold at most 20,000 characters.
COMMENT_MAX_LENGTH = 20_000


@extend_schema_field(OpenApiTypes.INT)
class VisibleTaskField(serializers.PrimaryKeyRelatedField):
    """A task id; a task the requester cannot see (or a deleted one) does not exist for them."""

    def get_queryset(self):
        return tasks_visible_to(self.context["request"].user).select_related("department")


class CommentSerializer(serializers.ModelSerializer):
    task = VisibleTaskField()
    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "content", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class CommentUpdateSerializer(serializers.ModelSerializer):
    """A comment stays on its task: only the text changes."""

    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "content", "created_at"]
        read_only_fields = ["id", "task", "author", "created_at"]


class TaskCommentCreateSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=COMMENT_MAX_LENGTH)


class AttachmentSerializer(serializers.ModelSerializer):
    file = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "task", "uploaded_by", "file", "name", "size", "content_type", "uploaded_at"]
        read_only_fields = fields

    def get_file(self, attachment: Attachment) -> str:
        # The authorised download, never the storage URL: that one would bypass visibility.
        url = reverse("attachment-download", kwargs={"pk": attachment.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class AttachmentUploadSerializer(serializers.Serializer):
    task = VisibleTaskField()
    file = serializers.FileField()
