"""Task API throughput: N executions through HTTP, two ways, vs the same N raw `delay()` + `get()` calls.

The two HTTP paths: polling (`POST execute/`, then long-poll `GET executions/{id}/?wait=30`)
and submit-and-wait (`POST execute/?wait=30`, one request that answers the finished execution).

Starts its own gunicorn (config/gunicorn.conf.py: 2 workers x 8 threads) and Celery worker
on the PostgreSQL/Redis you point it at, runs both paths in the same run, prints
executions/s and p50/p95 submit->SUCCESS latency for each and their ratios, the load average,
and the CPU each group of processes spent per execution: this run's gunicorn, its worker, the
client (this process), the PostgreSQL backends of its database, PostgreSQL's own processes and
Redis; everything else on the machine (other work) is shown as "other", outside the total and
the CPU ratio. Then it stops what it started.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taskhub_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
    python bench/task_api_throughput.py [-n 1000] [--clients 8] [--poll 0.05]

The N executions are split into rounds that alternate between the three paths, so load
from anything else on the machine weighs on both alike. Both paths poll at the same
interval (raw `AsyncResult.get(interval=...)` polls django-celery-results; the HTTP
clients poll the execution detail endpoint).
Each client thread is its own user (`bench-<n>@example.com`, created in the migrated database),
as independent clients are, so the production per-user throttle (THROTTLE_EXECUTE_RATE,
600/min) applies unchanged unless a run would send more than that per user.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


WARMUP = 50


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="executions per path (default 1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads per path")
    parser.add_argument("--poll", type=float, default=0.05, help="completion poll interval, seconds")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (config/gunicorn.conf.py: 2)")
    parser.add_argument("--web-threads", type=int, default=8, help="threads per gunicorn worker (config: 8)")
    parser.add_argument("--worker-concurrency", type=int, default=8, help="celery worker processes")
    parser.add_argument("--rounds", type=int, default=4, help="alternating raw/API rounds the N are split into")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    parser.add_argument(
        "--skip-polling", action="store_true", help="raw and submit-and-wait only (to profile)"
    )
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summarise(name, latencies, wall):
    return {
        "path": name,
        "n": len(latencies),
        "per_second": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "wall_s": wall,
    }


CPU_GROUPS = ("gunicorn", "celery", "bench", "postgres", "pg-server", "redis-server")
# The gunicorn and Celery processes this run started (and their children): other gunicorns or
# workers on a shared machine are "other", not counted as this run's web or worker.
OWN_ROOTS: dict[int, str] = {}
# "postgres" is the backends serving this run's database (their command line names it); backends
# of other databases (other work on a shared machine) are "other", and the server's own processes
# (postmaster, WAL writer, checkpointer, ...), which every database's writes keep busy, "pg-server".
DATABASE_NAME = ""


def cpu_seconds() -> dict:
    """CPU seconds used so far by each process on this machine (Linux /proc), by (group, pid)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = {}
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # Own user+system time, and that of exited children it reaped.
        used = sum(int(value) for value in fields[11:13]) / ticks
        reaped = sum(int(value) for value in fields[13:15]) / ticks
        processes[int(entry.name)] = (int(fields[1]), comm, cmdline, used, reaped)

    def own_group(pid):
        while pid > 1 and pid in processes:
            if pid in OWN_ROOTS:
                return OWN_ROOTS[pid]
            pid = processes[pid][0]
        return None

    for pid, (_, comm, cmdline, used, reaped) in processes.items():
        if pid == os.getpid():
            group = "bench"
        elif (own := own_group(pid)) is not None:
            group = own
        elif comm.startswith("postgres") or cmdline.startswith("postgres"):
            group = "postgres" if f" {DATABASE_NAME} " in cmdline else _pg_group(cmdline)
            # The postmaster reaps every backend that exits, of any database: not this run's
            # (its web and worker keep their connections), so other work.
            totals[("other", pid)] = reaped
            reaped = 0.0
        elif comm.startswith("redis-server"):
            group = "redis-server"
        else:
            group = "other"
        totals[(group, pid)] = totals.get((group, pid), 0.0) + used + reaped
    return totals


def cpu_spent(before: dict, after: dict) -> dict:
    """CPU seconds each group spent between two cpu_seconds(): summed per process alive at the end.

    A process that exited in between is left out (its whole past would otherwise be subtracted:
    a database connection closed at CONN_MAX_AGE), one that started is counted from zero.
    """
    spent = dict.fromkeys(CPU_GROUPS + ("other",), 0.0)
    for (group, pid), seconds in after.items():
        earlier = before.get((group, pid), 0.0)
        spent[group] += seconds - earlier if seconds >= earlier else seconds
    return spent


def _pg_group(cmdline: str) -> str:
    """A backend of another database is other work; the server's own processes are "pg-server"."""
    words = cmdline.split()
    # A backend reads "postgres: [cluster:] user database host(port) state"; a server process does not.
    client = any(word == "[local]" or ("(" in word and word.endswith(")")) for word in words[1:])
    return "other" if client else "pg-server"


def run_parallel(pool, job, n, deadline):
    """`job(i)` for i in range(n) on `pool`'s threads (each path keeps its own, so its clients'
    connections, database ones included, last the whole run as real clients' would)."""
    latencies = []
    lock = threading.Lock()

    def timed(i):
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark time budget exhausted")
        started = time.perf_counter()
        job(i)
        with lock:
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    list(pool.map(timed, range(n)))
    return latencies, time.perf_counter() - began


class HttpClient:
    """Per thread: one keep-alive connection to the gunicorn under test and one user's token."""

    def __init__(self, port, tokens):
        self.port = port
        self.tokens = list(tokens)
        self.next_token = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def _headers(self):
        headers = getattr(self.local, "headers", None)
        if headers is None:
            with self.lock:
                token = self.tokens[self.next_token % len(self.tokens)]
                self.next_token += 1
            headers = self.local.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        return headers

    def request(self, method, path, body=None):
        conn = getattr(self.local, "conn", None)
        reused = conn is not None
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self._headers())
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        except (ConnectionError, http.client.HTTPException):
            self.local.conn = None
            conn.close()
            if not reused:
                raise
        # The server closed the idle keep-alive connection (gunicorn's keepalive is 5 s, and a
        # path idles while the others run): reconnect once, as HTTP client libraries do.
        return self.request(method, path, body)


def create_database_if_missing(url: str) -> None:
    """The scratch database DATABASE_URL names, created when the server has none of that name
    (it is migrated, and its bench users kept, from run to run)."""
    import environ

    from bench.scale import admin_connection

    name = environ.Env.db_url_config(url)["NAME"]
    with admin_connection(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def main():
    args = parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL=postgres://... and REDIS_URL=redis://... (see the docstring)")
    deadline = time.monotonic() + args.timeout
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        # Own broker keys, so a dev worker on the same Redis never steals the benchmark's messages.
        "CELERY_BROKER_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "",
        # Every client long-polls at once; the production cap (half of each process's threads)
        # could refuse one when gunicorn spreads them unevenly, and this measures throughput.
        "LONG_POLL_PROCESS_SHARE": "1",
    }
    per_user = (args.n + 2 * WARMUP) // args.clients + 1
    if per_user > 500 and "THROTTLE_EXECUTE_RATE" not in os.environ:
        # More executions per user than the production throttle lets through in a minute.
        env["THROTTLE_EXECUTE_RATE"] = f"{per_user * 2}/min"
    if "THROTTLE_USER_RATE" not in os.environ:
        # Each execution is two requests (submit, long-poll); a fast client passes the default
        # 1200/min per user, and this measures throughput, not the rate limit.
        env["THROTTLE_USER_RATE"] = f"{max(per_user * 4, 1200)}/min"
    os.environ.update(env)
    create_database_if_missing(os.environ["DATABASE_URL"])
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)

    import django

    django.setup()
    from django.db import connection

    global DATABASE_NAME
    DATABASE_NAME = connection.settings_dict["NAME"]
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from task_api.tasks import add_task as add

    permission = Permission.objects.get(content_type__app_label="task_api", codename="run_benchmarks")
    tokens = []
    for number in range(args.clients):
        user, _ = User.objects.get_or_create(email=f"bench-{number}@example.com", defaults={"name": "Benchmark"})
        user.user_permissions.add(permission)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)

    port = free_port()
    processes = []
    pools = {}
    try:
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    "default",
                    "-l",
                    "warning",
                    "-c",
                    str(args.worker_concurrency),
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench-{uuid.uuid4().hex[:6]}@%h",
                ],
                cwd=BASE_DIR,
                env=env,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "config/gunicorn.conf.py",
                    "-w",
                    str(args.web_workers),
                    "--threads",
                    str(args.web_threads),
                    "-b",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                ],
                cwd=BASE_DIR,
                env=env,
            )
        )
        OWN_ROOTS.update({processes[0].pid: "celery", processes[1].pid: "gunicorn"})
        client = HttpClient(port, tokens)

        def web_up():
            try:
                return client.request("GET", "/api/v1/task-api/available/")[0] == 200
            except OSError:
                return False

        wait_until(web_up, 60, "gunicorn")
        add.delay(0, 0).get(timeout=60)  # the worker is consuming

        def raw_job(i):
            assert add.delay(i, 1).get(timeout=60, interval=args.poll) == i + 1

        def wait_job(i):
            status, body = client.request(
                "POST", "/api/v1/task-api/execute/?wait=30", {"task_name": "task_api.tasks.add", "args": [i, 1]}
            )
            if status == 202:  # not finished within 30 s: long-poll it as the polling path does
                status, body = client.request("GET", f"/api/v1/task-api/executions/{body['execution_id']}/?wait=30")
            assert status == 200 and body["status"] == "SUCCESS" and body["result"] == i + 1, body

        def http_job(i):
            status, body = client.request(
                "POST", "/api/v1/task-api/execute/", {"task_name": "task_api.tasks.add", "args": [i, 1]}
            )
            assert status == 202, body
            # Long-poll (`?wait=`) rather than re-sending the request every poll interval.
            url = f"/api/v1/task-api/executions/{body['execution_id']}/?wait=30"
            while True:
                status, detail = client.request("GET", url)
                if detail["is_complete"]:
                    assert detail["status"] == "SUCCESS" and detail["result"] == i + 1, detail
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(url)
                time.sleep(args.poll)

        load_before = os.getloadavg()
        jobs = {"raw": raw_job, "api": http_job, "wait": wait_job}
        if args.skip_polling:
            del jobs["api"]
        pools.update({key: ThreadPoolExecutor(max_workers=args.clients) for key in jobs})
        warmup = min(WARMUP, args.n)
        for key, job in jobs.items():
            run_parallel(pools[key], job, warmup, deadline)

        # Alternate the paths in rounds so a change in machine load hits all alike.
        measured = {key: ([], 0.0) for key in jobs}
        cpu = {key: dict.fromkeys(CPU_GROUPS + ("other",), 0.0) for key in jobs}
        per_round = [args.n // args.rounds + (1 if r < args.n % args.rounds else 0) for r in range(args.rounds)]
        for size in per_round:
            for key, job in jobs.items():
                before = cpu_seconds()
                latencies, wall = run_parallel(pools[key], job, size, deadline)
                after = cpu_seconds()
                measured[key] = (measured[key][0] + latencies, measured[key][1] + wall)
                for group, seconds in cpu_spent(before, after).items():
                    cpu[key][group] += seconds
        names = {"raw": "raw delay()+get()", "api": "API polling", "wait": "API submit-and-wait"}
        rows = {key: summarise(names[key], *measured[key]) for key in jobs}
    finally:
        for pool in pools.values():
            pool.shutdown(cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    print(
        f"\n{args.n} executions of task_api.tasks.add, {args.clients} clients, poll {args.poll}s, "
        f"gunicorn -w {args.web_workers} --threads {args.web_threads}, "
        f"celery -c {args.worker_concurrency}, {os.cpu_count()} CPUs"
    )
    print(f"{'path':<22}{'exec/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'wall s':>10}")
    for row in rows.values():
        print(
            f"{row['path']:<22}{row['per_second']:>10.1f}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}"
            f"{row['wall_s']:>10.1f}"
        )
    load_after = os.getloadavg()
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in load_after)
    )
    print(
        "CPU ms per execution, by process group (gunicorn = this run's web, celery = its worker, bench = the "
        "client, postgres = the backends of this run's database, pg-server = PostgreSQL's own processes, "
        "redis-server = the Redis server; other = everything else on the machine, not in the total):"
    )
    groups = [g for g in CPU_GROUPS + ("other",) if any(cpu[key][g] for key in rows)]
    totals = {}
    print(f"{'path':<22}" + "".join(f"{g:>13}" for g in groups) + f"{'total':>10}")
    for key, row in rows.items():
        per_exec = {g: cpu[key][g] * 1000 / row["n"] for g in groups}
        totals[key] = sum(v for g, v in per_exec.items() if g != "other")
        print(f"{row['path']:<22}" + "".join(f"{per_exec[g]:>13.1f}" for g in groups) + f"{totals[key]:>10.1f}")
    raw = rows["raw"]
    for key, target in (("api", "throughput >= 0.5"), ("wait", "throughput >= 0.8, p50 <= 1.5, CPU <= 2")):
        if key not in rows:
            continue
        row = rows[key]
        print(
            f"{row['path']}/raw: throughput {row['per_second'] / raw['per_second']:.2f}, "
            f"p50 latency {row['p50_ms'] / raw['p50_ms']:.2f}, p95 {row['p95_ms'] / raw['p95_ms']:.2f}, "
            f"CPU per execution {totals[key] / totals['raw']:.2f} (target {target})"
        )


if __name__ == "__main__":
    main()
