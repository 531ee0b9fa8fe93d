import django_filters
from django import forms

from tasks.serializers import MAX_ID

from .models import Attachment, Comment


class IdFilter(django_filters.NumberFilter):
    """An integer id: "1.5" or "abc" is a 400, not a silently rounded match; one past the
    column's range is a 400 too, not an overflow in the database driver."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class CommentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id")
    author = IdFilter(field_name="author_id")

    class Meta:
        model = Comment
        fields = ["task", "author"]


class AttachmentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id")
    uploaded_by = IdFilter(field_name="uploaded_by_id")

    class Meta:
        model = Attachment
        fields = ["task", "uploaded_by"]
