import django_filters
from django import forms

from .models import Attachment, Comment


class IdFilter(django_filters.NumberFilter):
    """An integer id: "1.5" or "abc" is a 400, not a silently rounded match."""

    field_class = forms.IntegerField


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
