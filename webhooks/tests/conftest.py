import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.tasks import send_webhook_delivery_task

PUBLIC_ADDRESS = "93.184.216.34"


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """dns[host] = [addresses]: what getaddrinfo answers for a host; other names resolve to a
    public address (address literals and `localhost` resolve for real), so no test needs DNS."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            if host == "localhost":
                return real(host, port, *args, **kwargs)
            try:  # an address literal in any form the resolver takes (0x7f000001, [::1]): no DNS
                return real(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
            except socket.gaierror:
                pass
        addresses = answers.get(host, [PUBLIC_ADDRESS])
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


@pytest.fixture
def guard_on(settings, dns):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    return dns


@pytest.fixture
def queued(monkeypatch):
    """Delivery ids handed to the broker (with their countdown); nothing leaves the test process."""
    sent = []
    monkeypatch.setattr(
        send_webhook_delivery_task,
        "apply_async",
        lambda args, **options: sent.append((args[0], options.get("countdown"))),
    )
    return sent


class Receiver:
    """A real HTTP server on 127.0.0.1 (ephemeral port) in a thread: it records every request
    and answers the statuses a test lines up (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.on_request: Callable[[dict], None] | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    request = {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
                    receiver.requests.append(request)
                if receiver.on_request:
                    receiver.on_request(request)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    server = Receiver()
    yield server
    server.stop()
