"""https targets: the connection goes to the checked address, while SNI and the certificate
check use the URL's host name (a certificate for another name is refused)."""

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from webhooks import network

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def self_signed(tmp_path, name):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(tmp_path):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    cert, key = self_signed(tmp_path, "hooks.test")
    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, seen
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_url_host_while_connecting_to_the_checked_address(
    https_server, dns, settings, monkeypatch
):
    port, cert, seen = https_server
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    dns["hooks.test"] = ["127.0.0.1"]
    # Trust the test certificate as the system's CA bundle would be trusted.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    answer = network.post(network.resolve(f"https://hooks.test:{port}/in"), body=b"{}", headers={}, timeout=5)

    assert (answer.status, answer.error) == (204, "")
    assert seen == [(f"hooks.test:{port}", b"{}")]


def test_a_certificate_for_another_name_is_refused(https_server, dns, settings, monkeypatch):
    port, cert, seen = https_server
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    dns["elsewhere.test"] = ["127.0.0.1"]
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    answer = network.post(network.resolve(f"https://elsewhere.test:{port}/in"), body=b"{}", headers={}, timeout=5)

    assert answer.status is None and "hostname 'elsewhere.test' doesn't match" in answer.error
    assert seen == []
