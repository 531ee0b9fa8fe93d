"""`make run` as a user runs it: in a terminal, idle, sending one email, Ctrl-C; and on a busy port.

The real recipe runs (`make -o .venv/bin/.installed run`: everything but the install step) on
SQLite and the filesystem broker in a temporary folder, under a pseudo-terminal so that Ctrl-C
is the terminal's own: the byte ^C, turned into SIGINT for the foreground process group.
"""

import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/bin/.installed", "run"]
PROCESSES = ("web", "worker", "beat", "events")
# An idle stretch is a fixed time by nature: the 5-second dispatcher fires six times in it.
IDLE_SECONDS = 30

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run_env(tmp_path, port):
    """A fresh clone's environment: SQLite and the filesystem broker, all under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_", "DJANGO_", "SITE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
        SHARED_CACHE_DIR=str(tmp_path / "cache"),
        MEDIA_ROOT=str(tmp_path / "media"),
        TASKHUB_PORT=str(port),
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat-heartbeat"),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    return env


class MakeRunInTerminal:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.last_line_at = time.monotonic()
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            MAKE_RUN, cwd=BASE_DIR, env=make_run_env(tmp_path, self.port),
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=self._take_terminal,
        )
        os.close(slave)
        threading.Thread(target=self._read, daemon=True).start()

    @staticmethod
    def _take_terminal():
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def _read(self):
        pending = b""
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            self.lines.extend(line.decode("utf-8", "replace").rstrip("\r") for line in complete)
            if complete:
                self.last_line_at = time.monotonic()

    def output(self, since=0):
        return "\n".join(self.lines[since:])

    def of(self, process, since=0):
        prefix = re.compile(rf"^{process}\s*\| ")
        return [prefix.sub("", line) for line in self.lines[since:] if prefix.match(line)]

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"make run exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return self.request("GET", "/api/v1/health/")[0] == 200
        except OSError:
            return False

    def ctrl_c(self):
        os.write(self.master, b"\x03")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            for pid in self.child_pids():
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(10)
        os.close(self.master)

    def child_pids(self):
        return [int(m.group(1)) for m in re.finditer(r"started \(pid (\d+)\)", self.output())]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """One `make run` for the module's tests, in order: quiet, one email, then Ctrl-C."""
    running = MakeRunInTerminal(tmp_path_factory.mktemp("make-run"))
    try:
        try:
            wait_for(running.healthy, timeout=180, interval=0.5, message="make run to answer /api/v1/health/")
            wait_for(lambda: any("ready." in line for line in running.of("worker")), timeout=120, interval=0.2,
                     message="the worker")
            wait_for(lambda: any("beat: Starting" in line for line in running.of("beat")), timeout=60,
                     interval=0.2, message="beat")
            # Start-up is over when the seed's emails are sent: nothing printed for a few seconds.
            wait_for(lambda: time.monotonic() - running.last_line_at > 5, timeout=180, interval=0.5,
                     message="the start-up output to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; make run printed:\n" + "\n".join(running.lines[-60:])) from None
        yield running
    finally:
        running.close()


def test_an_idle_make_run_logs_almost_nothing(make_run):
    start = len(make_run.lines)

    time.sleep(IDLE_SECONDS)

    for process in PROCESSES:
        lines = make_run.of(process, since=start)
        assert len(lines) < 10, f"{process} logged {len(lines)} lines in {IDLE_SECONDS} s idle:\n" + "\n".join(lines)
    assert "dispatch_due_executions" not in make_run.output(start)
    # Quiet, not asleep: beat ticked within the last seconds (its heartbeat, docker-compose.yml).
    assert time.time() - (make_run.tmp_path / "beat-heartbeat").stat().st_mtime < 10


def test_an_email_is_one_info_line_with_its_subject(make_run):
    start = len(make_run.lines)
    email = f"new.{uuid.uuid4().hex[:8]}@example.com"

    password = "a-Long-pass-2026"
    status, body = make_run.request(
        "POST", "/api/v1/auth/register/",
        {"email": email, "name": "New Person", "password": password, "password2": password},
    )

    assert status == 201, body
    subject = "Verify your Taskhub email address"
    wait_for(lambda: any(subject in line for line in make_run.of("worker", start)), timeout=30, interval=0.2,
             message="the email's log line")
    worker = make_run.of("worker", start)
    email_lines = [line for line in worker if subject in line]
    assert len(email_lines) == 1 and "INFO" in email_lines[0] and email in email_lines[0], worker
    assert not [line for line in worker if "WARNING" in line], worker
    assert "Confirm your email address" not in make_run.output(start)


def test_ctrl_c_stops_every_process_cleanly_and_make_exits_0(make_run):
    pids = make_run.child_pids()
    assert len(pids) == len(PROCESSES), make_run.output()
    start = len(make_run.lines)

    stopped_at = time.monotonic()
    make_run.ctrl_c()
    status = make_run.proc.wait(15)
    took = time.monotonic() - stopped_at

    output = make_run.output(start)
    assert status == 0, output
    assert took < 10, f"{took:.1f} s:\n{output}"
    for process in PROCESSES:
        assert re.search(rf"^system\s*\| {process} exited with code 0$", output, re.M), output
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    for bad in ("SIGKILL", "signal 9", "exited with signal", "killed", "Interrupt", "Error"):
        assert bad not in output, output


def test_make_run_on_a_busy_port_refuses_before_writing_anything(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()

        result = subprocess.run(
            MAKE_RUN, cwd=BASE_DIR, env=make_run_env(tmp_path, port), capture_output=True, text=True, timeout=60
        )

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Port {port} on 127.0.0.1 is already in use" in output
    assert "migrate" not in result.stdout and "Taskhub on" not in output
    assert not (tmp_path / "db.sqlite3").exists()
    assert time.monotonic() - started < 30
