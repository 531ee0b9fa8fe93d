"""A production-settings gunicorn for tests that look at what a browser would get."""

import os
import socket
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_gunicorn(tmp_path, env, *args):
    """gunicorn from the shipped config/gunicorn.conf.py on a free port -> (base URL, process).

    Stopped on exit; its output is in tmp_path/gunicorn.log.
    """
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "-b", f"127.0.0.1:{port}", *args],
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
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.fixture
def gunicorn(tmp_path):
    """A production-settings gunicorn on an empty SQLite database, without Redis."""
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "static-test-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    with running_gunicorn(tmp_path, env, "-w", "1") as (base, _):
        yield base
