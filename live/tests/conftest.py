import re

import pytest

from live import selectors

EVENT = re.compile(r"^id: (\d+)\nevent: ([\w.]+)\ndata: ([^\n]*)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def fresh_horizon(monkeypatch):
    """Each test reads the log with a horizon of its own (ids of rolled-back tests are reused on SQLite)."""
    monkeypatch.setattr(selectors, "_horizon", selectors.EventHorizon())


@pytest.fixture
def short_streams(settings):
    """Streams that end at once after their first reads, so an in-process request returns."""
    settings.LIVE_STREAM_SECONDS = 0.05
    settings.LIVE_POLL_SECONDS = 0.01
    return settings


def events_in(text: str) -> list[tuple[int, str, str]]:
    """(id, kind, data) of each event of an SSE body, in order."""
    return [(int(i), kind, data) for i, kind, data in EVENT.findall(text)]
