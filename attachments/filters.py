import django_filters

from core.filters import IdFilter

from .models import Attachment


class AttachmentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id")
    uploaded_by = IdFilter(field_name="uploaded_by_id")

    class Meta:
        model = Attachment
        fields = ["task", "uploaded_by"]
