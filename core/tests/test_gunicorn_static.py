"""Under gunicorn with production settings, the API docs and the admin get every script and
stylesheet from the project itself (WhiteNoise + drf-spectacular-sidecar), no collectstatic."""

import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "static-test-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return urllib.request.urlopen(f"{base}/api/v1/health/", timeout=2).status in (200, 503)
        except urllib.error.HTTPError as exc:
            return exc.code in (200, 503)
        except OSError:
            return proc.poll() is not None

    try:
        wait_for(up, timeout=60, interval=0.2, message="gunicorn")
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def assets_of(html):
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/", "/admin/login/"])
def test_pages_and_all_their_assets_are_served_locally(gunicorn, page):
    html = urllib.request.urlopen(gunicorn + page, timeout=10).read().decode()

    assets = assets_of(html)
    assert assets, page
    assert "cdn." not in html and "//unpkg" not in html
    for asset in assets:
        response = urllib.request.urlopen(gunicorn + asset, timeout=10)
        assert response.status == 200, asset
        assert len(response.read()) > 0, asset
