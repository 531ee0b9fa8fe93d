from django.contrib import admin, messages

from core.admin_display import ADMIN_CSS, badge, compact_time, short_id, truncated

from .models import Webhook, WebhookDelivery
from .services import deliveries_redeliver

DELIVERY_TONES = {
    WebhookDelivery.Status.PENDING: "wait",
    WebhookDelivery.Status.SUCCEEDED: "ok",
    WebhookDelivery.Status.FAILED: "bad",
}


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "target", "active", "failure_count", "last_delivery", "created"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["url", "owner__email", "owner__name"]
    list_select_related = ["owner"]
    # The secret signs deliveries: never shown here (owners rotate it through the API). The URL
    # changes through the API only, where the SSRF guard checks it; staff may turn a webhook off.
    exclude = ["secret"]
    readonly_fields = ["owner", "url", "events", "created_at", "last_delivery_at", "failure_count", "disabled_reason"]
    list_per_page = 50

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request):
        # A webhook is created by its owner through the API, which issues its secret.
        return False

    @admin.display(description="url", ordering="url")
    def target(self, obj):
        return truncated(obj.url, 50)

    @admin.display(description="active", ordering="is_active")
    def active(self, obj):
        if obj.is_active:
            return badge("active", "ok")
        return badge(f"disabled: {obj.disabled_reason}" if obj.disabled_reason else "off", "off")

    @admin.display(description="last delivery", ordering="last_delivery_at")
    def last_delivery(self, obj):
        return compact_time(obj.last_delivery_at)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event", "webhook_url", "status_badge", "attempts", "response_status",
                    "duration_ms", "next_attempt", "created", "error"]
    list_display_links = ["delivery_id"]
    list_filter = ["status", "event", "created_at"]
    search_fields = ["=id", "webhook__url", "webhook__owner__email", "last_error"]
    list_select_related = ["webhook"]
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["redeliver"]
    # The log of what was sent: it changes through the workers and the redeliver action only.
    readonly_fields = ["id", "webhook", "event", "payload", "status", "attempts", "response_status", "duration_ms",
                       "next_attempt_at", "claimed_at", "created_at", "last_error"]

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request):
        return False

    @admin.action(description="Redeliver (one more attempt, due now)", permissions=["change"])
    def redeliver(self, request, queryset):
        count = deliveries_redeliver(deliveries=queryset)
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)

    @admin.display(description="id", ordering="id")
    def delivery_id(self, obj):
        return short_id(obj.pk)

    @admin.display(description="webhook", ordering="webhook__url")
    def webhook_url(self, obj):
        return truncated(obj.webhook.url, 40)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), DELIVERY_TONES.get(obj.status, "off"))

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj):
        return compact_time(obj.next_attempt_at)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)

    @admin.display(description="error")
    def error(self, obj):
        return truncated(obj.last_error, 40)
