from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.long_poll import long_poll_slot

from .models import Event
from .serializers import MAX_ID, StreamQuerySerializer
from .streams import RESET, EventStream, async_stream, sync_stream

# One message of the stream, as an SSE parser reads it (the schema of each message, not of the body).
SSE_MESSAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": r"^\d+$", "description": "The event's id (resume after it)."},
        "event": {"type": "string", "enum": [*Event.Kind.values, RESET]},
        "data": {"type": "string", "description": "The event's JSON (for `reset`: `{last_event_id, detail}`)."},
        "retry": {"type": "integer", "description": "Milliseconds to wait before reconnecting (LIVE_RETRY_MS)."},
    },
}
EVENT_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
LAST_EVENT_ID_DESCRIPTION = (
    "The id of the last event received; the stream replays every later event of the log (kept at least an hour). "
)


class _Release:
    """Frees the stream's long-poll slot once, whichever comes first: its end or the response's close."""

    def __init__(self, slot):
        self._slot = slot

    def __call__(self):
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.__exit__(None, None, None)


class _SyncBody:
    def __init__(self, iterator, release):
        self._iterator = iterator
        self._release = release

    def __iter__(self):
        return self._iterator

    def close(self):
        try:
            self._iterator.close()
        finally:
            self._release()


class _AsyncBody(_SyncBody):
    def __iter__(self):
        raise TypeError("an async stream")

    def __aiter__(self):
        return self._iterator

    def close(self):
        # Django closes the response from a thread; the generator itself is finalised by the loop.
        self._release()


class EventStreamView(APIView):
    """`GET /api/v1/events/`: the user's live events as Server-Sent Events."""

    @extend_schema(
        summary="Live events (Server-Sent Events)",
        description=(
            "A `text/event-stream` of what concerns you: `notification.created` (your new in-app "
            "notifications, as `GET notifications/` shows them), `execution.updated` (your executions "
            "finishing: `{id, task_name, status, completed_at}`) and `task.updated` (tasks you may see "
            "now: `{id, title, status, changed_fields, actor}`). Each event has an `id`; reconnect with "
            "the `Last-Event-ID` header (EventSource does) or `?last_event_id=` to receive what you "
            "missed. Without one the stream starts now. If events after it may have been purged, the "
            "stream starts with `event: reset`. A comment (`: keep-alive`) or an id-only message "
            "arrives every 15 s of silence; the stream ends after LIVE_STREAM_SECONDS and the "
            "`retry:` line says when to reconnect. Each open stream takes one of the user's "
            "LONG_POLL_PER_USER (4) slots: 429 with `Retry-After` beyond."
        ),
        parameters=[
            OpenApiParameter("last_event_id", EVENT_ID, OpenApiParameter.QUERY, required=False,
                             description=LAST_EVENT_ID_DESCRIPTION + "For clients that cannot set headers."),
            OpenApiParameter("Last-Event-ID", EVENT_ID, OpenApiParameter.HEADER, required=False,
                             description=LAST_EVENT_ID_DESCRIPTION + "The query parameter wins if both are sent."),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                SSE_MESSAGE, description="The event stream: messages of `id:`, `event:`, `data:` (JSON) lines, "
                "each ended by a blank line; `retry:` first; comments (`: keep-alive`) between."
            ),
            400: OpenApiResponse(description="`last_event_id` (or the Last-Event-ID header) is not an id."),
            429: OpenApiResponse(description="Too many open streams and long-polls (the user's LONG_POLL_PER_USER, "
                                 "or this server process's share of threads); retry after `Retry-After` seconds."),
        },
    )
    def get(self, request):
        query = StreamQuerySerializer(data={"last_event_id": request.query_params.get("last_event_id"),
                                            "header": request.headers.get("Last-Event-ID")})
        query.is_valid(raise_exception=True)
        asynchronous = isinstance(request._request, ASGIRequest)
        seconds = settings.LIVE_STREAM_SECONDS
        slot = long_poll_slot(request.user, seconds=seconds, holds_thread=not asynchronous)
        slot.__enter__()
        release = _Release(slot)
        stream = EventStream(user=request.user, last_event_id=query.validated_data.get("last_event_id"),
                             seconds=seconds)
        if asynchronous:
            body = _AsyncBody(async_stream(stream, release=release), release)
            # This thread (Django's, for the sync view of this one request) stays parked until
            # the stream ends; its connection would stay open as long. The stream reads on
            # pool threads instead.
            connections.close_all()
        else:
            body = _SyncBody(sync_stream(stream, release=release), release)
        response = StreamingHttpResponse(body, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        # nginx and similar proxies would otherwise buffer the stream.
        response["X-Accel-Buffering"] = "no"
        return response

    def perform_content_negotiation(self, request, force=False):
        # EventSource asks for text/event-stream; the stream is not a DRF rendering, and every
        # refusal (401, 403, 429, 400) answers JSON whatever was asked for.
        return JSONRenderer(), JSONRenderer.media_type
