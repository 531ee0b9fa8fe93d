from django.contrib import admin

from .models import Comment


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "author", "short_content", "created_at"]
    list_filter = ["created_at", "task__department"]
    search_fields = ["task__title", "author__email", "author__name", "content"]
    list_select_related = ["task", "author"]
    raw_id_fields = ["task", "author"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="content")
    def short_content(self, comment):
        return comment.content if len(comment.content) <= 80 else f"{comment.content[:79]}…"
