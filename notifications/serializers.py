from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from .models import Notification, NotificationPreference


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "task", "actor", "message", "created_at", "read_at"]
        read_only_fields = fields


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications became read.")


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`, nothing DRF would coerce ("yes", 1, "on")."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ChannelPreferencesSerializer(serializers.Serializer):
    """{kind: on} for every notification kind."""

    required_kinds = True

    def get_fields(self):
        return {
            kind: StrictBooleanField(required=self.required_kinds, help_text=label)
            for kind, label in Notification.Kind.choices
        }


class NotificationPreferencesSerializer(serializers.Serializer):
    """What the user gets, per channel and notification kind."""

    email = ChannelPreferencesSerializer(help_text="Emails, by notification kind.")
    in_app = ChannelPreferencesSerializer(help_text="In-app notifications (the list), by notification kind.")


class _KnownKeysOnly:
    """A dict input whose keys are all fields of the serializer; another key is a 400 naming it
    (and the schema says `additionalProperties: false`, see KnownKeysOnlyExtension)."""

    unknown_key_message = "Unknown key."

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: [self.unknown_key_message] for key in unknown})
        return super().to_internal_value(data)


class ChannelPreferencesUpdateSerializer(_KnownKeysOnly, ChannelPreferencesSerializer):
    """The kinds to change on one channel."""

    required_kinds = False
    unknown_key_message = f"Unknown notification kind; the kinds are {', '.join(Notification.Kind.values)}."


class NotificationPreferencesUpdateSerializer(_KnownKeysOnly, serializers.Serializer):
    """Only what changes: the channels and kinds not named keep their setting."""

    unknown_key_message = f"Unknown channel; the channels are {', '.join(NotificationPreference.Channel.values)}."

    email = ChannelPreferencesUpdateSerializer(required=False, help_text="Emails, by notification kind.")
    in_app = ChannelPreferencesUpdateSerializer(
        required=False, help_text="In-app notifications (the list), by notification kind."
    )


class KnownKeysOnlyExtension(OpenApiSerializerExtension):
    """Request bodies of `_KnownKeysOnly` serializers refuse other keys: say so in the schema."""

    target_class = _KnownKeysOnly
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        return {**schema, "additionalProperties": False}
