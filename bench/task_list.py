"""Requests per second of GET /api/v1/tasks/ against a bare `.values()` view of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python bench/task_list.py

Seeds a dedicated database (`taskhub_bench` on the server of DATABASE_URL, dropped and
re-created, dropped again at the end unless --keep-db), starts gunicorn with 2 sync workers
serving config.wsgi with bench.task_list_settings (the project plus /bench/bare-tasks/),
checks both answer the same page, then sends the same number of requests to both, as the
department's manager with a JWT, from a few client threads, in short alternating rounds.
Prints requests/second and the ratio (median of the paired rounds) for each page size.
Bounded: every request has a timeout, the whole run a deadline, and gunicorn is stopped
on the way out.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = "taskhub_bench"
DRF_PATH = "/api/v1/tasks/"
BARE_PATH = "/bench/bare-tasks/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=100, help="per endpoint, per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--page-sizes", default="10,100")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


def bench_database_url() -> str:
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres", "pgsql")):
        sys.exit("DATABASE_URL must point at PostgreSQL (its server hosts the bench database).")
    return urlunsplit(urlsplit(source)._replace(path=f"/{BENCH_DB}"))


def admin_connection(url: str):
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    return psycopg.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"] or None,
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        autocommit=True,
    )


def recreate_database(url: str) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def drop_database(url: str) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.task_list_settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def seed(n_tasks: int) -> str:
    """A department of 30 people, its manager, n tasks with 3 assignees and 2 comments each.

    Returns the manager's access token.
    """
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Department, User
    from comments.models import Comment
    from tasks.models import Task
    from tasks.selectors import TaskAssignee

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    department = Department.objects.create(name="Bench")
    password = make_password(None)
    manager = User.objects.create(
        email="manager@bench.local", name="Bench Manager", role=User.Role.MANAGER,
        department=department, password=password,
    )
    department.manager = manager
    department.save()
    people = User.objects.bulk_create(
        User(email=f"user{i}@bench.local", name=f"Person {i}", department=department, password=password)
        for i in range(30)
    )
    now = timezone.now()
    priorities = list(Task.PRIORITY_RANKS)
    tasks = []
    for i in range(n_tasks):
        priority = rng.choice(priorities)
        tasks.append(
            Task(
                title=f"Task {i}: {rng.choice(['review', 'build', 'write', 'fix'])} the thing",
                description="Lorem ipsum dolor sit amet, " * 4,
                status=rng.choice(["todo", "in_progress", "done"]),
                priority=priority,
                creator=rng.choice(people),
                assigned_by=manager,
                department=department,
                due_date=now + timedelta(hours=rng.randint(1, 24 * 60)) if i % 10 else None,
                estimate_hours=rng.choice([None, Decimal("1"), Decimal("2.5"), Decimal("8")]),
            )
        )
    tasks = Task.objects.bulk_create(tasks, batch_size=1000)
    TaskAssignee.objects.bulk_create(
        (TaskAssignee(task_id=task.pk, user_id=user.pk) for task in tasks for user in rng.sample(people, 3)),
        batch_size=5000,
    )
    Comment.objects.bulk_create(
        (Comment(task=task, author=rng.choice(people), content=f"Note {k}") for task in tasks for k in range(2)),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    token = AccessToken.for_user(manager)
    token.set_exp(lifetime=timedelta(hours=1))
    return str(token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="bench.task_list_settings",
        DJANGO_DEBUG="false",  # DEBUG would record every query in memory
        LOG_LEVEL="WARNING",
    )
    log = open(log_path, "w")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def get(port: int, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited early")
        try:
            get(port, "/api/v1/health/", "")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def drive(port: int, path: str, token: str, total: int, threads: int, deadline: float) -> float:
    """Send `total` requests from `threads` threads; returns requests per second."""
    remaining = iter(range(total))
    lock = threading.Lock()
    errors = []

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if next(remaining, None) is None:
                    return
            status, body = get(port, path, token)
            if status != 200:
                errors.append((status, body[:200]))
                return

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    if time.monotonic() >= deadline:
        raise RuntimeError("deadline reached")
    return total / elapsed


def same_page(port: int, token: str, page_size: int) -> None:
    """Both endpoints must answer the same tasks in the same order, or the comparison is void."""
    answers = []
    for path in (DRF_PATH, BARE_PATH):
        status, body = get(port, f"{path}?page_size={page_size}", token)
        assert status == 200, (path, status, body[:300])
        data = json.loads(body)
        answers.append((data["count"], [(r["id"], r["assignees"], r["comments_count"]) for r in data["results"]]))
    assert answers[0] == answers[1], "the two endpoints disagree"
    assert len(answers[0][1]) == page_size


def main() -> int:
    args = parse_args()
    deadline = time.monotonic() + args.deadline
    url = bench_database_url()
    print(f"seeding {args.tasks} tasks into {BENCH_DB} ...", flush=True)
    recreate_database(url)
    proc = None
    try:
        setup_django(url)
        token = seed(args.tasks)
        port = args.port or free_port()
        log_path = BASE_DIR / "var" / "bench-gunicorn.log"
        log_path.parent.mkdir(exist_ok=True)
        proc = start_gunicorn(url, port, args.workers, log_path)
        wait_ready(port, proc)
        print(f"gunicorn: {args.workers} workers on :{port}; {args.threads} client threads; "
              f"{args.requests} requests per endpoint per round, {args.rounds} rounds")
        for page_size in [int(size) for size in args.page_sizes.split(",")]:
            same_page(port, token, page_size)
            paths = {name: f"{path}?page_size={page_size}" for name, path in (("drf", DRF_PATH), ("bare", BARE_PATH))}
            for path in paths.values():  # warm both workers' connections and caches
                drive(port, path, token, 20, args.threads, deadline)
            # Short rounds, back to back, alternating which goes first: on a shared machine the
            # load drifts, and each ratio compares two runs that saw about the same load.
            rates = {"drf": [], "bare": []}
            for round_no in range(args.rounds):
                for name in sorted(paths, reverse=bool(round_no % 2)):
                    rates[name].append(drive(port, paths[name], token, args.requests, args.threads, deadline))
            ratio = statistics.median(d / b for d, b in zip(rates["drf"], rates["bare"], strict=True))
            drf, bare = statistics.median(rates["drf"]), statistics.median(rates["bare"])
            print(f"page_size={page_size:>3}  /api/v1/tasks/ {drf:7.1f} req/s   bare .values() {bare:7.1f} req/s   "
                  f"ratio {ratio:.2f} (median of {args.rounds} paired rounds)", flush=True)
        return 0
    finally:
        if proc is not None:
            stop(proc)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
