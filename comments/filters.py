import django_filters

from core.filters import IdFilter

from .models import Comment


class CommentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id")
    author = IdFilter(field_name="author_id")

    class Meta:
        model = Comment
        fields = ["task", "author"]
