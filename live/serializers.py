from rest_framework import serializers

MAX_ID = 2**63 - 1


class StreamQuerySerializer(serializers.Serializer):
    """Where a stream resumes: `?last_event_id=` or the `Last-Event-ID` header (each checked
    when sent; the query parameter wins)."""

    last_event_id = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, allow_null=True)
    header = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, allow_null=True,
                                      source="last_event_id_header", label="Last-Event-ID")

    def validate(self, attrs):
        header = attrs.pop("last_event_id_header", None)
        if attrs.get("last_event_id") is None:
            attrs["last_event_id"] = header
        return attrs
