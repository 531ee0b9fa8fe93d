from rest_framework import serializers

from .models import EVENTS, URL_MAX_LENGTH, Webhook, WebhookDelivery

EVENTS_HELP = "A non-empty subset of: " + ", ".join(EVENTS) + "."


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook as its owner sees it; the secret is never part of it."""

    events = serializers.ListField(child=serializers.CharField(), help_text=EVENTS_HELP)

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "created_at", "last_delivery_at", "failure_count"]
        read_only_fields = fields


class WebhookSecretSerializer(WebhookSerializer):
    """The answer of create and rotate_secret: the only times the secret is shown."""

    secret = serializers.CharField(help_text="Signs every delivery (X-Taskhub-Signature). Shown only now.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EventsField(serializers.ListField):
    child = serializers.CharField(max_length=64)

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=len(EVENTS) * 2, help_text=EVENTS_HELP, **kwargs)

    def to_internal_value(self, data):
        names = super().to_internal_value(data)
        # The length validators see the deduplicated list; a list this long is not a subscription.
        if len(names) > self.max_length:
            raise serializers.ValidationError(f"At most {self.max_length} names.")
        unknown = [name for name in names if name not in EVENTS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event(s): {', '.join(unknown)}. The events are {', '.join(EVENTS)}."
            )
        # Once each, in the documented order.
        return [name for name in EVENTS if name in names]


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=URL_MAX_LENGTH, help_text="An http(s) URL on a public address.")
    events = EventsField()
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(serializers.Serializer):
    """PATCH: the fields sent change; `is_active: true` re-activates and resets failure_count."""

    url = serializers.URLField(max_length=URL_MAX_LENGTH, required=False)
    events = EventsField(required=False)
    is_active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    last_error = serializers.CharField(help_text="Why the last attempt failed (empty after a success).")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event", "status", "attempts", "response_status", "duration_ms", "next_attempt_at", "created_at",
            "last_error",
        ]
        read_only_fields = fields
