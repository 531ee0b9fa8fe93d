import uuid

from django.conf import settings
from django.db import models


def attachment_path(instance, filename):
    # A fresh directory per upload: two files with the same name never clash, and the
    # stored name is never chosen by the client beyond its sanitised last component.
    return f"attachments/{instance.task_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=150, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The table the model had when it lived in the comments app.
        db_table = "comments_attachment"
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["task", "-uploaded_at"], name="attachment_task_uploaded_idx")]

    def __str__(self):
        return self.name
