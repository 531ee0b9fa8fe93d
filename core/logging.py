"""The request id every log line carries, and the JSON log format (`LOG_FORMAT=json`).

`RequestIdMiddleware` (core.middleware) sets the id for a request; config/celery.py carries
it in the headers of the tasks the request enqueues and sets it again in the worker while
such a task runs. Everything else reads it through `current_request_id()`.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# Kept from the client only when it is short and plain, so it is safe in a header, a log
# line and a Celery message; anything else is replaced, never rejected.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    """Set the id for the current context; returns the token `reset_request_id` takes."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def request_id_from(sent: str | None) -> str:
    """The client's id when well-formed, else a new one (uuid4 hex)."""
    if sent and _VALID_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` ("-" outside a request or task) to every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, request_id (and exc_info)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        super().add_fields(log_record, record, message_dict)
        if log_record.get("request_id") == "-":
            log_record["request_id"] = None
