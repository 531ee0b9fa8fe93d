"""Chaos run: the whole system under load while workers are killed and the broker restarts,
then a ledger of what happened, read from the database and from the jobs' own side effects.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python bench/chaos.py [options]

Creates its own database (`bench_chaos_<pid>` on the server of DATABASE_URL, with the create
and drop helpers of bench/scale.py; dropped at the end unless --keep-db) and its own
`redis-server` on a free port (never the Redis of REDIS_URL), migrates, and starts with
`bench.chaos_settings`: --web gunicorn processes, one Celery worker per queue (`default`,
`emails`, `task_api`: the `chaos.record_run` job's), --beats beat processes at once. Then,
spread over --load-seconds, through HTTP (Token auth, an Idempotency-Key per request so a
retry after an error never makes a second execution): --executions runs of `chaos.record_run`,
--scheduled one-off runs a few seconds ahead, --schedules recurring schedules every
--schedule-every seconds, and --expiring tasks that fall due during the run (the expiry sweep
fails them and emails their creator). Meanwhile a kill -9 hits a random worker (its prefork
children too) every --kill-every seconds and it is started again, and Redis is killed and
started again (empty) once, halfway. When the load ends the schedules are paused and the bench
waits until nothing is left to do (or --quiet-timeout), stops everything and prints the
ledger; the exit status is 1 if it shows a violation. --broker rabbitmq puts the broker on the
RabbitMQ at 127.0.0.1:5672, vhost `chaos` (created if missing; no other vhost is touched).

The ledger: every execution terminal exactly once and each job body run at most once (its
side-effect row counts runs); every one-off scheduled run fired once; recurring firings at
most one per schedule and tick, and no more than the ticks of the schedule's active window
(two beats included); no task expired twice (status history) and none left open past due;
every notification email sent (a repeat after a crash carries the same Message-ID, the key
the ledger counts by); nothing stuck (pending, sending, started).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.scale import bench_database_url, create_database, drop_database  # noqa: E402

SETTINGS = "bench.chaos_settings"
JOB = "chaos.record_run"
RUNNER_EMAIL = "chaos-runner@example.com"
CREATOR_EMAIL = "chaos-creator@example.com"
TITLE_PREFIX = "chaos expiring"
WORKER_QUEUES = ("default", "emails", "task_api")
LOST_ERROR_PREFIX = "WorkerLostError"
# The processes' settings: short time limits and sweeper windows, so what a kill leaves
# behind is recovered within the bench's wait rather than after production's minutes.
PROCESS_ENV = {
    "DJANGO_SETTINGS_MODULE": SETTINGS,
    "DJANGO_DEBUG": "false",
    "LOG_LEVEL": "INFO",
    "GUNICORN_ACCESS_LOG": "",
    "THROTTLE_USER_RATE": "1000000/min",
    "THROTTLE_KEY_RATE": "1000000/min",
    "THROTTLE_EXECUTE_RATE": "1000000/min",
    "TASK_API_LOST_RUN_GRACE_SECONDS": "10",
    "TASK_API_REDISPATCH_SECONDS": "20",
    "NOTIFICATION_EMAIL_SWEEP_AFTER": "10",
    "NOTIFICATION_EMAIL_REQUEUE_AFTER": "40",
    "NOTIFICATION_EMAIL_CLAIM_TIMEOUT": "30",
    "CELERY_BROKER_KEY_PREFIX": "",
    "BEAT_HEARTBEAT_FILE": "",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=3000, help="runs of chaos.record_run now")
    parser.add_argument("--scheduled", type=int, default=300, help="one-off runs with scheduled_at ahead")
    parser.add_argument("--schedules", type=int, default=5, help="recurring schedules")
    parser.add_argument("--schedule-every", type=int, default=10, help="their interval, seconds (API minimum 10; "
                        "less is set on the beat row directly)")
    parser.add_argument("--expiring", type=int, default=5000, help="tasks that fall due during the run")
    parser.add_argument("--load-seconds", type=float, default=180, help="the load is spread over this long")
    parser.add_argument("--kill-every", type=float, default=10, help="kill -9 a random worker this often")
    parser.add_argument("--no-redis-restart", action="store_true", help="do not restart Redis halfway")
    parser.add_argument("--web", type=int, default=2, help="gunicorn processes (1 worker x 8 threads each)")
    parser.add_argument("--workers", default=",".join(WORKER_QUEUES),
                        help="one worker per item; queues of one worker joined by '+' (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork processes per worker")
    parser.add_argument("--beats", type=int, default=2, help="beat processes running at once")
    parser.add_argument("--clients", type=int, default=8, help="HTTP client threads")
    parser.add_argument("--work-ms", type=int, default=100, help="how long each job works")
    parser.add_argument("--time-limit", type=int, default=20,
                        help="the jobs' hard time limit, seconds: a killed run is marked lost 10 s after it")
    parser.add_argument("--sweep-every", type=int, default=0,
                        help="run the expiry and outbox sweeps this often, seconds (0: the shipped minute)")
    parser.add_argument("--quiet-timeout", type=float, default=300, help="wait this long for the system to settle")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------------------- processes


class Cluster:
    """The processes of one run, each in its own process group, so a kill -9 takes a worker's
    prefork children with it and nothing started here outlives the run."""

    def __init__(self, args, database_url: str, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.redis_port = free_port()
        self.redis = None
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        if args.broker == "rabbitmq":
            broker = "amqp://guest:guest@127.0.0.1:5672/chaos"
        else:
            broker = self.redis_url
        env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
        self.env = {
            **env, **PROCESS_ENV, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": broker, "PYTHONPATH": str(BASE_DIR),
            "CELERY_TASK_TIME_LIMIT": str(args.time_limit),
            "CELERY_TASK_SOFT_TIME_LIMIT": str(max(args.time_limit - 2, 1)),
        }
        self.web_ports: list[int] = []
        self.webs: list[subprocess.Popen] = []
        self.beats: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        self.generation = 0
        self.lock = threading.Lock()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        logfile = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, cwd=BASE_DIR, env=self.env, stdout=logfile, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_redis(self) -> None:
        self.redis = self._spawn("redis", [
            shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir),
        ])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def restart_redis(self) -> None:
        """kill -9 and start again: with no persistence every queued message is gone."""
        self._kill(self.redis)
        time.sleep(1)
        self.start_redis()

    def start_web(self) -> None:
        for number in range(self.args.web):
            port = free_port()
            self.web_ports.append(port)
            self.webs.append(self._spawn(f"web-{number}", [
                sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "-w", "1", "--threads", "8",
                "-b", f"127.0.0.1:{port}",
            ]))

    def start_worker(self, queues: str) -> subprocess.Popen:
        with self.lock:
            self.generation += 1
            name = f"chaos-{queues.replace(',', '-')}-{self.generation}"
        process = self._spawn(f"worker-{queues.replace(',', '-')}", [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-c", str(self.args.concurrency),
            "-l", "info", "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
        ])
        self.workers[queues] = process
        return process

    def start_workers(self) -> None:
        for item in self.args.workers.split(","):
            self.start_worker(item.replace("+", ","))

    def start_beats(self) -> None:
        for number in range(self.args.beats):
            self.beats.append(self._spawn(f"beat-{number}", [
                sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info",
                "--schedule", str(self.workdir / f"beat-{number}.schedule"),
            ]))

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        logs = [f"worker-{queues.replace(',', '-')}" for queues in self.workers]
        while time.monotonic() < deadline:
            if all(b"ready." in (self.workdir / f"{name}.log").read_bytes() for name in logs) and all(
                _http(port, "GET", "/api/v1/health/")[0] == 200 for port in self.web_ports
            ):
                return
            for process in [*self.webs, *self.beats, *self.workers.values()]:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args} exited early; see {self.workdir}")
            time.sleep(0.5)
        raise RuntimeError(f"processes not ready after {timeout} s; see {self.workdir}")

    def kill_worker(self, queues: str) -> None:
        self._kill(self.workers[queues])
        self.start_worker(queues)

    def restart_exited(self) -> list[str]:
        """Start again any worker or beat that exited by itself, as a supervisor would
        (compose's `restart: unless-stopped`); returns what had exited."""
        exited = []
        for queues, process in list(self.workers.items()):
            if process.poll() is not None:
                exited.append(f"worker {queues} (exit {process.returncode})")
                _killpg(process.pid, signal.SIGKILL)
                self.start_worker(queues)
        for number, process in enumerate(self.beats):
            if process.poll() is not None:
                exited.append(f"beat {number} (exit {process.returncode})")
                self.beats[number] = self._spawn(f"beat-{number}", process.args)
        return exited

    @staticmethod
    def _kill(process: subprocess.Popen | None, sig=signal.SIGKILL) -> None:
        if process is None or process.poll() is not None:
            if process is not None:
                _killpg(process.pid, signal.SIGKILL)  # children of a dead parent
            return
        _killpg(process.pid, sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            _killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if sig != signal.SIGKILL:
            _killpg(process.pid, signal.SIGKILL)  # prefork children still shutting down

    def stop(self) -> None:
        processes = [*self.beats, *self.webs, *self.workers.values()]
        for process in processes:
            if process.poll() is None:
                _killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                pass
            _killpg(process.pid, signal.SIGKILL)
        self._kill(self.redis)


def _killpg(pgid: int, sig) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def ensure_rabbitmq_vhost() -> None:
    """The `chaos` vhost on the shared RabbitMQ, emptied of our queues (other vhosts untouched)."""
    vhosts = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, check=True).stdout
    if "chaos" in vhosts.split():
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", "chaos"], check=True)
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", "chaos"], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", "chaos", "guest", ".*", ".*", ".*"], check=True)


# ---------------------------------------------------------------------------- HTTP load


def _http(port: int, method: str, path: str, body=None, headers=None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"null")
        except ValueError:
            return response.status, raw[:200]
    except (OSError, http.client.HTTPException) as exc:
        return 0, repr(exc)
    finally:
        conn.close()


@dataclass
class Load:
    """What the clients asked for and how the system answered."""

    ports: list[int]
    token: str
    deadline: float
    requests: int = 0
    retries: int = 0
    errors: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, method: str, path: str, body=None, expect=(200, 201, 202)) -> dict:
        """Send until answered with `expect` (same Idempotency-Key each time), round-robin over the web processes."""
        headers = {"Authorization": f"Token {self.token}", "Idempotency-Key": uuid.uuid4().hex}
        attempt = 0
        while True:
            port = self.ports[(self.requests + attempt) % len(self.ports)]
            status, answer = _http(port, method, path, body, headers)
            with self.lock:
                self.requests += 1
            if status in expect:
                return answer
            with self.lock:
                self.retries += 1
                key = f"{status} {str(answer)[:80]}"
                self.errors[key] = self.errors.get(key, 0) + 1
            attempt += 1
            if time.monotonic() > self.deadline:
                raise RuntimeError(f"{method} {path} still failing: {status} {answer}")
            time.sleep(min(0.2 * attempt, 2))


def drive(load: Load, plan: list[tuple[float, str]], clients: int, started: float, work_ms: int) -> None:
    """Send the planned requests, each at its offset from `started`, from `clients` threads."""
    pending = iter(plan)
    take = threading.Lock()
    failures = []

    def client():
        while True:
            with take:
                item = next(pending, None)
            if item is None:
                return
            offset, kind = item
            delay = started + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = {"task_name": JOB, "kwargs": {"work_ms": work_ms}}
            if kind == "scheduled":
                ahead = timedelta(seconds=random.uniform(2, 8))
                body["scheduled_at"] = (datetime.now(UTC) + ahead).isoformat()
            try:
                load.call("POST", "/api/v1/task-api/execute/", body)
            except RuntimeError as exc:
                failures.append(str(exc))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests never succeeded, e.g. {failures[0]}")


# ---------------------------------------------------------------------------- set-up (ORM)


def prepare_ledger_tables() -> None:
    """The side-effect tables the job and the email backend write (bench/chaos_app)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS chaos_side_effects, chaos_emails")
        cursor.execute(
            "CREATE TABLE chaos_side_effects (execution_id uuid PRIMARY KEY, runs integer NOT NULL, "
            "pids integer[] NOT NULL, at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(
            "CREATE TABLE chaos_emails (id bigserial PRIMARY KEY, notification_id bigint, message_id text NOT NULL, "
            "recipient text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT now())"
        )


def drop_ledger_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS chaos_side_effects, chaos_emails")


def make_users() -> tuple[str, object]:
    """The runner (task-API permission, a DRF token) and the creator of the expiring tasks."""
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    runner, _ = User.objects.get_or_create(email=RUNNER_EMAIL, defaults={"name": "Chaos runner"})
    runner.user_permissions.add(Permission.objects.get(content_type__app_label="task_api", codename="run_benchmarks"))
    creator, _ = User.objects.get_or_create(email=CREATOR_EMAIL, defaults={"name": "Chaos creator"})
    return Token.objects.get_or_create(user=runner)[0].key, creator


def create_expiring_tasks(creator, n: int, start: datetime, spread: float) -> None:
    """`n` open tasks falling due between 5 s after `start` and `spread` seconds after it."""
    from tasks.models import Task

    Task.objects.bulk_create(
        [
            Task(title=f"{TITLE_PREFIX} {number}", creator=creator,
                 due_date=start + timedelta(seconds=5 + random.uniform(0, max(spread - 5, 0))))
            for number in range(n)
        ],
        batch_size=1000,
    )


def set_sweep_interval(seconds: int) -> None:
    """Run the expiry and outbox sweeps every `seconds` (a staff edit of the beat rows)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    for row in PeriodicTask.objects.filter(name__in=["tasks.expire_overdue", "notifications.sweep_email_outbox"]):
        row.interval, row.crontab, row.expire_seconds = interval, None, max(seconds - 1, 1)
        row.save()


def set_schedule_interval(schedule_ids: list[str], seconds: int) -> None:
    """Below the API's 10 s minimum: set on the beat rows, as an operator could in admin."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    for row in PeriodicTask.objects.filter(task_api_schedule__in=schedule_ids):
        row.interval = interval
        row.save()


# ---------------------------------------------------------------------------- the ledger


def _rows(sql: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one(sql: str, params=()):
    return _rows(sql, params)[0][0]


def outstanding() -> dict:
    """What is still to happen: the bench waits until all of it is zero."""
    return {
        "executions not terminal": _one(
            "SELECT count(*) FROM task_api_taskexecution WHERE status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')"
        ),
        "emails pending or sending": _one(
            "SELECT count(*) FROM notifications_notification WHERE email_status IN ('pending', 'sending')"
        ),
        "tasks open past due": _one(
            "SELECT count(*) FROM tasks_task WHERE status IN ('todo', 'in_progress') AND due_date < now()"
        ),
    }


def ledger(*, executions: int, scheduled: int, expiring: int, windows: dict[str, tuple[datetime, datetime]],
           every: int) -> dict:
    """Everything the run left, counted from the database and the side-effect tables.

    `windows`: each recurring schedule's active time (created, paused); `every` its interval.
    """
    by_status = dict(_rows(
        "SELECT status, count(*) FROM task_api_taskexecution WHERE task_name = %s GROUP BY status", [JOB]
    ))
    kinds = dict(_rows(
        """SELECT CASE WHEN schedule_id IS NOT NULL OR fire_time IS NOT NULL THEN 'recurring'
                       WHEN scheduled_at IS NOT NULL THEN 'scheduled' ELSE 'now' END, count(*)
           FROM task_api_taskexecution WHERE task_name = %s GROUP BY 1""", [JOB]
    ))
    failures = dict(_rows(
        """SELECT CASE WHEN error LIKE %s THEN 'worker lost mid-run' ELSE coalesce(error, '?') END, count(*)
           FROM task_api_taskexecution WHERE task_name = %s AND status = 'FAILURE' GROUP BY 1""",
        [f"{LOST_ERROR_PREFIX}%", JOB],
    ))
    side = dict(_rows(
        """SELECT coalesce(e.status, 'no execution'), count(*) FROM chaos_side_effects s
           LEFT JOIN task_api_taskexecution e ON e.id = s.execution_id GROUP BY 1"""
    ))
    ran_twice = _one("SELECT count(*) FROM chaos_side_effects WHERE runs > 1")
    success_without_run = _one(
        """SELECT count(*) FROM task_api_taskexecution e WHERE e.task_name = %s AND e.status = 'SUCCESS'
           AND NOT EXISTS (SELECT 1 FROM chaos_side_effects s WHERE s.execution_id = e.id)""", [JOB]
    )
    scheduled_status = dict(_rows(
        """SELECT status, count(*) FROM task_api_taskexecution
           WHERE task_name = %s AND scheduled_at IS NOT NULL GROUP BY status""", [JOB]
    ))
    scheduled_fired = _one(
        """SELECT count(*) FROM task_api_taskexecution e JOIN chaos_side_effects s ON s.execution_id = e.id
           WHERE e.task_name = %s AND e.scheduled_at IS NOT NULL""", [JOB]
    )
    recurring = []
    for schedule_id, (began, ended) in windows.items():
        fired, ticks, without_tick, doubled = _rows(
            """SELECT count(*), count(DISTINCT fire_time), count(*) FILTER (WHERE fire_time IS NULL),
                      (SELECT count(*) FROM (SELECT 1 FROM task_api_taskexecution WHERE schedule_id = %s
                       AND fire_time IS NOT NULL GROUP BY fire_time HAVING count(*) > 1) d)
               FROM task_api_taskexecution WHERE schedule_id = %s""", [schedule_id, schedule_id]
        )[0]
        # Ticks of the clock grid inside the window, +1 for a firing sent just before the pause
        # and carried out after it.
        window_ticks = int(ended.timestamp() // every) - int(began.timestamp() // every) + 1
        recurring.append({
            "schedule": schedule_id, "executions": fired, "distinct ticks": ticks, "without tick": without_tick,
            "ticks fired twice": doubled, "ticks in window": window_ticks,
            "total_run_count": _one(
                """SELECT p.total_run_count FROM task_api_taskschedule s
                   JOIN django_celery_beat_periodictask p ON p.id = s.periodic_task_id WHERE s.id = %s""",
                [schedule_id],
            ),
        })
    like = f"{TITLE_PREFIX} %"
    expiry = {
        "tasks": _one("SELECT count(*) FROM tasks_task WHERE title LIKE %s", [like]),
        "failed": _one("SELECT count(*) FROM tasks_task WHERE title LIKE %s AND status = 'failed'", [like]),
        "still open": _one(
            "SELECT count(*) FROM tasks_task WHERE title LIKE %s AND status IN ('todo', 'in_progress')", [like]
        ),
        "expired twice": _one(
            """SELECT count(*) FROM (SELECT h.task_id FROM tasks_taskstatushistory h JOIN tasks_task t
               ON t.id = h.task_id WHERE t.title LIKE %s AND h.to_status = 'failed'
               GROUP BY h.task_id HAVING count(*) > 1) d""", [like]
        ),
        "expiry notifications": _one(
            "SELECT count(*) FROM notifications_notification WHERE kind = 'expired'"
        ),
    }
    email_status = dict(_rows("SELECT email_status, count(*) FROM notifications_notification GROUP BY 1"))
    deliveries = _one("SELECT count(*) FROM chaos_emails")
    distinct_ids = _one("SELECT count(DISTINCT message_id) FROM chaos_emails")
    emails = {
        "notifications by email status": email_status,
        "deliveries": deliveries,
        "distinct Message-IDs": distinct_ids,
        "repeats (same Message-ID)": deliveries - distinct_ids,
        "sent without a delivery": _one(
            """SELECT count(*) FROM notifications_notification n WHERE n.email_status = 'sent'
               AND NOT EXISTS (SELECT 1 FROM chaos_emails m WHERE m.notification_id = n.id)"""
        ),
        "delivered but not marked sent": _one(
            """SELECT count(DISTINCT m.notification_id) FROM chaos_emails m JOIN notifications_notification n
               ON n.id = m.notification_id WHERE n.email_status <> 'sent'"""
        ),
        "deliveries without a notification": _one(
            """SELECT count(*) FROM chaos_emails m WHERE m.notification_id IS NULL OR NOT EXISTS
               (SELECT 1 FROM notifications_notification n WHERE n.id = m.notification_id)"""
        ),
    }
    return {
        "executions": {"by status": by_status, "by kind": kinds, "requested now": executions,
                       "requested scheduled": scheduled, "failures": failures},
        "side effects": {"by execution status": side, "executions run twice": ran_twice,
                         "SUCCESS without a run": success_without_run},
        "scheduled runs": {"by status": scheduled_status, "fired": scheduled_fired},
        "recurring": recurring,
        "expiry": {**expiry, "requested": expiring},
        "emails": emails,
        "stuck": outstanding(),
    }


def violations(book: dict) -> list[str]:
    """What the ledger shows broken; empty when the run kept every promise."""
    found = []
    executions, side = book["executions"], book["side effects"]
    if executions["by kind"].get("now", 0) != executions["requested now"]:
        found.append(f"{executions['by kind'].get('now', 0)} executions for {executions['requested now']} requests")
    if executions["by kind"].get("scheduled", 0) != executions["requested scheduled"]:
        found.append(f"{executions['by kind'].get('scheduled', 0)} scheduled executions "
                     f"for {executions['requested scheduled']} requests")
    other_failures = {k: v for k, v in executions["failures"].items() if k != "worker lost mid-run"}
    if other_failures:
        found.append(f"failures other than a lost worker: {other_failures}")
    if executions["by status"].get("REVOKED"):
        found.append(f"{executions['by status']['REVOKED']} executions revoked (none was cancelled)")
    if side["executions run twice"]:
        found.append(f"{side['executions run twice']} executions ran their body twice")
    if side["SUCCESS without a run"]:
        found.append(f"{side['SUCCESS without a run']} executions SUCCESS without their side effect")
    if side["by execution status"].get("no execution"):
        found.append(f"{side['by execution status']['no execution']} side effects of no execution")
    for schedule in book["recurring"]:
        if schedule["ticks fired twice"] or schedule["without tick"]:
            found.append(f"schedule {schedule['schedule']}: {schedule['ticks fired twice']} ticks fired twice, "
                         f"{schedule['without tick']} firings without a tick")
        if schedule["executions"] > schedule["ticks in window"]:
            found.append(f"schedule {schedule['schedule']}: {schedule['executions']} executions in "
                         f"{schedule['ticks in window']} ticks")
        if schedule["executions"] == 0:
            found.append(f"schedule {schedule['schedule']} never fired")
    expiry = book["expiry"]
    if expiry["expired twice"]:
        found.append(f"{expiry['expired twice']} tasks expired twice")
    if expiry["failed"] != expiry["requested"] or expiry["tasks"] != expiry["requested"]:
        found.append(f"{expiry['failed']} of {expiry['requested']} expiring tasks failed")
    if expiry["expiry notifications"] != expiry["failed"]:
        found.append(f"{expiry['expiry notifications']} expiry notifications for {expiry['failed']} expired tasks")
    emails = book["emails"]
    statuses = emails["notifications by email status"]
    unsent = {k: v for k, v in statuses.items() if k not in ("sent", "skipped")}
    if unsent:
        found.append(f"notification emails not sent: {unsent}")
    if emails["distinct Message-IDs"] != statuses.get("sent", 0):
        found.append(f"{emails['distinct Message-IDs']} emails delivered for {statuses.get('sent', 0)} sent")
    for key in ("sent without a delivery", "delivered but not marked sent", "deliveries without a notification"):
        if emails[key]:
            found.append(f"emails {key}: {emails[key]}")
    stuck = {k: v for k, v in book["stuck"].items() if v}
    if stuck:
        found.append(f"stuck: {stuck}")
    return found


def format_ledger(book: dict, problems: list[str]) -> str:
    lines = ["LEDGER"]
    for section, value in book.items():
        if section == "recurring":
            lines.append("  recurring schedules:")
            lines.extend(f"    {json.dumps(item, default=str)}" for item in value)
        else:
            lines.append(f"  {section}: {json.dumps(value, default=str)}")
    lines.append("VIOLATIONS: " + ("none" if not problems else ""))
    lines.extend(f"  - {problem}" for problem in problems)
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the run


def run_chaos(args, database_url: str, workdir: Path) -> dict:
    """Start the cluster on `database_url` (already migrated; Django set up in this process on
    the same database), drive the load with the chaos, wait for quiet and return the ledger
    ({"ledger", "violations", "kills", "redis restarts", "load", "seconds"})."""
    from django.db import connection

    random.seed(args.seed)
    began = time.monotonic()
    prepare_ledger_tables()
    token, creator = make_users()
    if args.sweep_every:
        set_sweep_interval(args.sweep_every)
    connection.close()
    cluster = Cluster(args, database_url, workdir)
    killer_thread = None
    if args.broker == "rabbitmq":
        ensure_rabbitmq_vhost()
    kills, restarts, crashes = [], [], []
    stop_killer, stop_kills = threading.Event(), threading.Event()
    try:
        cluster.start_redis()
        cluster.start_workers()
        cluster.start_web()
        cluster.wait_ready()
        cluster.start_beats()
        log(f"up: {args.web} web, workers {list(cluster.workers)}, {args.beats} beats, broker {args.broker} "
            f"({time.monotonic() - began:.0f} s); logs in {workdir}")

        load_began = time.monotonic()
        now = datetime.now(UTC)
        load = Load(cluster.web_ports, token, deadline=load_began + args.load_seconds + args.quiet_timeout)
        create_expiring_tasks(creator, args.expiring, now, args.load_seconds * 0.8)
        windows = {}
        for _ in range(args.schedules):
            created = load.call("POST", "/api/v1/task-api/schedules/", {
                "task_name": JOB, "kwargs": {"work_ms": args.work_ms},
                "interval": {"every": max(args.schedule_every, 10), "period": "seconds"},
            })
            windows[created["id"]] = datetime.now(UTC)
        if args.schedule_every < 10:
            set_schedule_interval(list(windows), args.schedule_every)
        connection.close()

        def killer():
            redis_at = load_began + args.load_seconds / 2
            next_kill = load_began + args.kill_every
            while not stop_killer.wait(0.2):
                if not args.no_redis_restart and not restarts and time.monotonic() >= redis_at:
                    cluster.restart_redis()
                    restarts.append(time.monotonic() - load_began)
                    log("redis killed and started again (empty)")
                for what in cluster.restart_exited():
                    crashes.append(what)
                    log(f"{what} exited by itself; started again")
                if stop_kills.is_set():
                    continue
                if args.kill_every and time.monotonic() >= next_kill:
                    queues = random.choice(list(cluster.workers))
                    cluster.kill_worker(queues)
                    kills.append(queues)
                    next_kill += args.kill_every
                    log(f"kill -9 worker {queues} (#{len(kills)}), started again")

        killer_thread = threading.Thread(target=killer, daemon=True)
        killer_thread.start()
        plan = sorted(
            [(random.uniform(0, args.load_seconds), "now") for _ in range(args.executions)]
            + [(random.uniform(0, args.load_seconds * 0.9), "scheduled") for _ in range(args.scheduled)]
        )
        drive(load, plan, args.clients, load_began, args.work_ms)
        remaining = load_began + args.load_seconds - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        stop_kills.set()
        for schedule_id, created in windows.items():
            load.call("PATCH", f"/api/v1/task-api/schedules/{schedule_id}/", {"enabled": False})
            windows[schedule_id] = (created, datetime.now(UTC))
        log(f"load done ({time.monotonic() - load_began:.0f} s): {load.requests} requests, {load.retries} retried; "
            f"{len(kills)} kills, {len(restarts)} redis restarts; waiting for quiet")

        quiet_deadline = time.monotonic() + args.quiet_timeout
        left = outstanding()
        while any(left.values()) and time.monotonic() < quiet_deadline:
            time.sleep(2)
            left = outstanding()
        log(f"quiet: {left} ({time.monotonic() - load_began:.0f} s after the load began)")
        # A firing sent just before the pause may still be on its way to an execution.
        time.sleep(3)
    finally:
        stop_killer.set()
        if killer_thread is not None:
            killer_thread.join()
        cluster.stop()
        if args.broker == "rabbitmq":
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", "chaos"], check=False)
    book = ledger(executions=args.executions, scheduled=args.scheduled, expiring=args.expiring,
                  windows=windows, every=args.schedule_every)
    return {
        "ledger": book, "violations": violations(book), "kills": kills, "redis restarts": restarts,
        "exited by themselves": crashes,
        "load": {"requests": load.requests, "retried": load.retries, "errors": load.errors},
        "seconds": time.monotonic() - began,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    name = f"bench_chaos_{os.getpid()}"
    url = bench_database_url(name)
    create_database(url, name)
    workdir = Path(tempfile.mkdtemp(prefix="taskhub-chaos-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # this process needs no Redis; the shared one is never touched
    os.environ["CELERY_BROKER_URL"] = "memory://"
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        load_before = os.getloadavg()
        result = run_chaos(args, url, workdir)
        print(format_ledger(result["ledger"], result["violations"]))
        print(f"processes that exited by themselves (started again): {result['exited by themselves']}")
        print(f"kills: {len(result['kills'])} ({', '.join(result['kills'])}); redis restarts at "
              f"{[round(t) for t in result['redis restarts']]} s; load: {json.dumps(result['load'])}")
        print(f"wall time {result['seconds']:.0f} s; load average before {load_before}, after {os.getloadavg()}")
        return 1 if result["violations"] else 0
    finally:
        if not args.keep_db:
            drop_database(url, name)


if __name__ == "__main__":
    sys.exit(main())
