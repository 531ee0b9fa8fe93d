from django.contrib import admin, messages

from core.admin_display import ADMIN_CSS, badge, compact_time, short_id, truncated

from .models import EmailOutbox, Notification
from .outbox import notification_email_requeue

EMAIL_TONES = {
    Notification.EmailStatus.PENDING: "wait",
    Notification.EmailStatus.SENDING: "busy",
    Notification.EmailStatus.SENT: "ok",
    Notification.EmailStatus.FAILED: "bad",
}


def email_badge(obj) -> str:
    return badge(obj.get_email_status_display(), EMAIL_TONES.get(obj.email_status, "off"))


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class ResendMixin:
    actions = ["send_email_again"]

    @admin.display(description="to", ordering="recipient__email")
    def to(self, obj):
        return truncated(obj.recipient.email, 28)

    @admin.action(description="Send the email again (unless already sent)", permissions=["change"])
    def send_email_again(self, request, queryset):
        count = notification_email_requeue(notifications=queryset)
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(ResendMixin, admin.ModelAdmin):
    list_display = ["id", "to", "kind", "about", "created", "read", "email"]
    list_filter = ["kind", ReadFilter, "email_status", "created_at"]
    search_fields = ["message", "recipient__email", "recipient__name", "task__title", "email_error"]
    list_select_related = ["recipient", "task"]
    raw_id_fields = ["recipient", "task", "actor"]
    readonly_fields = ["created_at", "email_attempts", "email_queued_at", "email_sent_at", "email_error"]
    date_hierarchy = "created_at"
    list_per_page = 50

    class Media:
        css = ADMIN_CSS

    @admin.display(description="about")
    def about(self, obj):
        return truncated(obj.message, 60)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)

    @admin.display(description="read", ordering="read_at")
    def read(self, obj):
        return badge("read", "off") if obj.read_at else badge("unread", "busy")

    @admin.display(description="email", ordering="email_status")
    def email(self, obj):
        return email_badge(obj)


@admin.register(EmailOutbox)
class EmailOutboxAdmin(ResendMixin, admin.ModelAdmin):
    list_display = ["outbox_id", "to", "kind", "status", "tries", "created", "queued", "sent", "error"]
    list_display_links = ["outbox_id"]
    list_filter = ["email_status", "kind", "created_at"]
    search_fields = ["recipient__email", "email_error", "task__title"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    list_per_page = 50
    # The outbox is the workers' record of each email: it changes through its actions only.
    readonly_fields = ["recipient", "kind", "task", "actor", "message", "created_at", "read_at", "email_status",
                       "email_attempts", "email_queued_at", "email_claimed_at", "email_sent_at", "email_error"]

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request):
        return False

    @admin.display(description="id", ordering="id")
    def outbox_id(self, obj):
        return short_id(obj.pk)

    @admin.display(description="status", ordering="email_status")
    def status(self, obj):
        return email_badge(obj)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)

    @admin.display(description="queued", ordering="email_queued_at")
    def queued(self, obj):
        return compact_time(obj.email_queued_at)

    @admin.display(description="tries", ordering="email_attempts")
    def tries(self, obj):
        return obj.email_attempts

    @admin.display(description="sent", ordering="email_sent_at")
    def sent(self, obj):
        return compact_time(obj.email_sent_at)

    @admin.display(description="error")
    def error(self, obj):
        return truncated(obj.email_error, 40)
