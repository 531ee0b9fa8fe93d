"""X-Request-ID: on every response, kept from a well-formed request header, and on the request's log lines."""

import json
import logging
import re
import sys

import pytest

from core import views
from core.logging import JsonFormatter, RequestIdFilter, current_request_id

HEALTH = "/api/v1/health/"
NEW_ID = re.compile(r"[0-9a-f]{32}")


class Captured(logging.Handler):
    """The records a handler configured like settings.LOGGING's would emit (with the request-id filter)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.mark.parametrize("sent", ["abc-123", "A.b_c-9", "x" * 200])
@pytest.mark.django_db
def test_a_well_formed_request_id_is_answered_back(api_client, sent):
    response = api_client.get(HEALTH, HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", [None, "", "x" * 201, "has space", "semi;colon", "ünïcode", "a\nb"])
@pytest.mark.django_db
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(api_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    first = api_client.get(HEALTH, **headers)["X-Request-ID"]
    second = api_client.get(HEALTH, **headers)["X-Request-ID"]

    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second)
    assert first != second


@pytest.mark.django_db
def test_error_responses_carry_it_too(api_client, monkeypatch, captured):
    def broken(self, request):
        raise RuntimeError("health check exploded")

    monkeypatch.setattr(views.HealthView, "get", broken)

    missing = api_client.get("/api/v1/no-such-endpoint/", HTTP_X_REQUEST_ID="rid-404")
    failed = api_client.get(HEALTH, HTTP_X_REQUEST_ID="rid-500")
    page = api_client.get("/no-such-page/", HTTP_X_REQUEST_ID="rid-page")

    assert (missing.status_code, missing["X-Request-ID"], missing.json()) == (404, "rid-404", {"detail": "Not found."})
    assert (failed.status_code, failed["X-Request-ID"]) == (500, "rid-500")
    assert failed.json() == {"detail": "Internal server error."}
    assert page["X-Request-ID"] == "rid-page"
    error_lines = [r for r in captured.records if r.getMessage().startswith("Unhandled error")]
    assert [r.request_id for r in error_lines] == ["rid-500"]


@pytest.mark.django_db
def test_every_log_line_of_the_request_carries_its_id_and_none_after_it(api_client, monkeypatch, captured):
    logger = logging.getLogger("core.views")

    def logging_health(self, request):
        logger.warning("inside the request")
        return original(self, request)

    original = views.HealthView.get
    monkeypatch.setattr(views.HealthView, "get", logging_health)
    api_client.get(HEALTH, HTTP_X_REQUEST_ID="rid-log")
    logger.warning("after the request")

    lines = {r.getMessage(): r.request_id for r in captured.records if r.name == "core.views"}
    assert lines == {"inside the request": "rid-log", "after the request": "-"}
    assert current_request_id() is None


def test_json_lines_have_the_documented_fields():
    formatter = JsonFormatter()
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    RequestIdFilter().filter(record)

    line = json.loads(formatter.format(record))

    assert {"timestamp", "level", "logger", "message", "request_id", "exc_info"} <= set(line)
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == ("ERROR", "x", "failed here", None)
    assert "ValueError: bad" in line["exc_info"]
