from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import Attachment


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
