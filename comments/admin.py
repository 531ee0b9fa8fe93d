from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import Attachment, Comment


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


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "task", "uploaded_by", "size", "content_type", "uploaded_at"]
    list_filter = ["uploaded_at", "content_type", "task__department"]
    search_fields = ["name", "task__title", "uploaded_by__email", "uploaded_by__name"]
    list_select_related = ["task", "uploaded_by"]
    raw_id_fields = ["task", "uploaded_by"]
    date_hierarchy = "uploaded_at"
    # Files come in through the API, which sanitises names and enforces the size cap.
    readonly_fields = ["download", "name", "size", "content_type", "uploaded_at"]
    exclude = ["file"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="file")
    def download(self, attachment):
        # The API download, not the storage URL, which is never public.
        return format_html('<a href="{}">{}</a>', reverse("attachment-download", args=[attachment.pk]),
                           attachment.name)

    def delete_model(self, request, obj):
        services.attachment_delete(attachment=obj)

    def delete_queryset(self, request, queryset):
        for attachment in queryset:
            services.attachment_delete(attachment=attachment)
