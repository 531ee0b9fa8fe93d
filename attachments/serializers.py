from django.urls import reverse
from rest_framework import serializers

from tasks.serializers import VisibleTaskField

from .models import Attachment


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
