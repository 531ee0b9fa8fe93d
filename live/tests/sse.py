"""A small Server-Sent Events client over a raw HTTP connection, as a browser's EventSource reads."""

import http.client
import json
import time
from urllib.parse import urlsplit


class SSEClient:
    """One connection to the stream; `last_event_id` follows every `id:` line (id-only messages too)."""

    def __init__(self, base: str, *, token: str, last_event_id: int | None = None, path="/api/v1/events/",
                 timeout: float = 15):
        url = urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        headers = {"Authorization": f"Token {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.last_event_id = last_event_id
        self.retry_ms = None
        self.ended = False

    @property
    def status(self) -> int:
        return self.response.status

    def events(self, *, until=lambda events: False, deadline: float = 15):
        """Read events (id, kind, data) until `until(events)`, the stream's end or `deadline` seconds."""
        events, fields = [], {}
        stop = time.monotonic() + deadline
        while time.monotonic() < stop and not until(events):
            line = self.response.readline()
            if not line:
                self.ended = True
                break
            line = line.decode().rstrip("\n")
            if line == "":
                if "id" in fields:
                    self.last_event_id = int(fields["id"])
                if "data" in fields:
                    events.append((int(fields["id"]), fields.get("event", "message"), json.loads(fields["data"])))
                fields = {}
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(": ")
                if name == "retry":
                    self.retry_ms = int(value)
                else:
                    fields[name] = value
        return events

    def close(self):
        self.connection.close()


def follow(base: str, *, token: str, last_event_id: int, until, deadline: float = 30):
    """(events, last id): streams read one after the other, each resuming from the last id the
    previous one gave (as EventSource reconnects), until `until(events)` or `deadline` seconds."""
    events, stop = [], time.monotonic() + deadline
    while not until(events) and time.monotonic() < stop:
        client = SSEClient(base, token=token, last_event_id=last_event_id)
        assert client.status == 200
        so_far = list(events)
        events += client.events(until=lambda new, so_far=so_far: until(so_far + new), deadline=stop - time.monotonic())
        last_event_id = client.last_event_id
        client.close()
    return events, last_event_id
