from django.contrib import admin, messages

from .models import Notification
from .outbox import notification_email_requeue


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "task", "actor", "created_at", "read_at", "email_status",
                    "email_attempts"]
    list_filter = ["kind", ReadFilter, "email_status", "created_at"]
    search_fields = ["message", "recipient__email", "recipient__name", "task__title", "email_error"]
    list_select_related = ["recipient", "task", "actor"]
    raw_id_fields = ["recipient", "task", "actor"]
    readonly_fields = ["created_at", "email_attempts", "email_queued_at", "email_sent_at", "email_error"]
    date_hierarchy = "created_at"
    actions = ["send_email_again"]

    @admin.action(description="Send the email again (unless already sent)")
    def send_email_again(self, request, queryset):
        count = notification_email_requeue(notifications=queryset)
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)
