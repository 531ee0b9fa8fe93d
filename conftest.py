"""Project-wide fixtures: API clients, the role personas, and a real Celery worker process."""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from rest_framework.test import APIClient

# Each test run gets its own broker keys, so parallel runs (or a dev worker) on the same
# Redis never consume each other's messages; worker subprocesses inherit the prefix.
if "global_keyprefix" in django_settings.CELERY_BROKER_TRANSPORT_OPTIONS:
    os.environ["CELERY_BROKER_KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}:"
    django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = os.environ[
        "CELERY_BROKER_KEY_PREFIX"
    ]

# Without Redis the shared cache is a folder; each test run gets its own, and so do the
# processes (gunicorn, workers) its tests start.
if django_settings.CACHES["shared"]["BACKEND"].endswith("FileBasedCache"):
    os.environ["SHARED_CACHE_DIR"] = tempfile.mkdtemp(prefix="taskhub-shared-cache-")
    django_settings.CACHES["shared"]["LOCATION"] = os.environ["SHARED_CACHE_DIR"]

BASE_DIR = Path(__file__).resolve().parent
HAS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))
HAS_REDIS = bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    if HAS_POSTGRES and HAS_REDIS:
        return
    skip = pytest.mark.skip(reason="needs DATABASE_URL=postgres://… and REDIS_URL (see README)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A lazily filled cache would make a test's first request cost one query more than the next;
    # query-count tests compare requests. webhooks/tests/test_events.py turns it on to test it.
    settings.WEBHOOK_LISTENERS_CACHE_SECONDS = 0
    # Likewise the per-minute reading of a table's size; core/tests/test_pagination.py turns it on.
    settings.COUNT_ESTIMATE_FIRST_ROWS = None
    cache.clear()
    caches["shared"].clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def fresh_watcher(monkeypatch):
    """A long-poll FinishWatcher of this test's own (any earlier one stopped), stopped afterwards."""
    from task_api import events

    if events._watcher is not None:
        events._watcher.stop()
    monkeypatch.setattr(events, "_watcher", None)
    yield
    if events._watcher is not None:
        events._watcher.stop()


@pytest.fixture
def redis_round_trips(monkeypatch):
    """The commands this process sends to Redis from now on: one entry per round trip (a pipeline is one)."""
    import redis.connection

    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, *args, **kwargs):
        sent.append(command)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated as that user."""

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def people(db):
    """The named personas of every permission matrix.

    dept_a is managed by `manager`; `creator`, `assignee` and `outsider` are employees
    (creator and assignee in dept_a, outsider in dept_b, managed by `other_manager`).
    """
    from accounts.models import User
    from accounts.tests.factories import DepartmentFactory, UserFactory

    dept_a = DepartmentFactory(name="Engineering")
    dept_b = DepartmentFactory(name="Sales")
    p = {
        "ceo": UserFactory(email="ceo@example.com", role=User.Role.CEO),
        "hr": UserFactory(email="hr@example.com", role=User.Role.HR),
        "manager": UserFactory(email="manager@example.com", role=User.Role.MANAGER, department=dept_a),
        "other_manager": UserFactory(
            email="other.manager@example.com", role=User.Role.MANAGER, department=dept_b
        ),
        "creator": UserFactory(email="creator@example.com", department=dept_a),
        "assignee": UserFactory(email="assignee@example.com", department=dept_a),
        "outsider": UserFactory(email="outsider@example.com", department=dept_b),
    }
    dept_a.manager = p["manager"]
    dept_a.save()
    dept_b.manager = p["other_manager"]
    dept_b.save()
    p["dept_a"], p["dept_b"] = dept_a, dept_b
    return p


def database_url_for_subprocess():
    """The URL of the test database, for processes started by a test."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a worker subprocess needs PostgreSQL")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate, timeout=30.0, interval=0.1, message="condition"):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class CeleryProcess:
    """A `celery -A config worker|beat` subprocess whose log the test can read."""

    def __init__(self, kind, tmp_path, env=None, extra_args=()):
        self.kind = kind
        self.log_path = tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}.log"
        self.env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), **(env or {})}
        self.extra_args = list(extra_args)
        self.node = f"test-{uuid.uuid4().hex[:8]}"
        self.proc = None

    def start(self, ready_text=None, timeout=60):
        args = [sys.executable, "-m", "celery", "-A", "config", self.kind, "-l", "info"]
        if self.kind == "worker":
            args += [
                "-Q", "default,emails,webhooks", "-c", "2", "--without-gossip", "--without-mingle",
                "-n", f"{self.node}@%h",
            ]
            ready_text = ready_text or "ready."
        else:
            args += ["--schedule", str(self.log_path.with_suffix(".schedule"))]
            ready_text = ready_text or "beat: Starting"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            args + self.extra_args, cwd=BASE_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for(lambda: ready_text in self.log() or self.proc.poll() is not None, timeout, 0.2,
                 f"{self.kind} to start")
        assert self.proc.poll() is None, f"{self.kind} exited early:\n{self.log()}"
        return self

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if kill and self.kind == "worker":
            # prefork children outlive a SIGKILLed parent; reap them like a real crash would
            subprocess.run(["pkill", "-9", "-f", self.node], check=False)
        self._log.close()


@pytest.fixture
def celery_process(transactional_db, tmp_path):
    """celery_process("worker" | "beat", env={...}) -> a started CeleryProcess, stopped after."""
    started = []

    def start(kind, env=None, extra_args=()):
        process = CeleryProcess(kind, tmp_path, env, extra_args).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def celery_worker(celery_process):
    return celery_process("worker")
