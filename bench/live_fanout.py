"""Live events fan-out: many open SSE streams, and /api/v1/health/ meanwhile.

Starts its own uvicorn (the `events` process) and gunicorn (the `web` process,
config/gunicorn.conf.py: 2 workers x 8 threads) on the PostgreSQL/Redis you point it at,
then:
- opens `--streams` streams on uvicorn (4 per user: LONG_POLL_PER_USER) with raw asyncio
  sockets, and times /api/v1/health/ on gunicorn and on uvicorn while they are open;
- changes one task every user may see and times commit -> the event at the last stream,
  with the uvicorn process's CPU time for that fan-out (utime + stime from /proc);
- the uvicorn CPU per stream while idle (heartbeats only);
- opens `--sync-streams` streams on gunicorn (each holds a thread): how many are served,
  how many answered 429, and /health/ on gunicorn meanwhile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/live REDIS_URL=redis://127.0.0.1:6379/9 \\
    python bench/live_fanout.py [--streams 400] [--sync-streams 24]
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(base: str, proc) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if urllib.request.urlopen(f"{base}/api/v1/health/", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{base} did not come up")


def health_times(base: str, n: int = 10) -> list[tuple[float, int]]:
    """(seconds, status) of `n` health checks; 503 (a component said degraded) is an answer too."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            status = urllib.request.urlopen(f"{base}/api/v1/health/", timeout=30).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        times.append((time.perf_counter() - started, status))
        time.sleep(0.05)
    return times


def describe(answers: list[tuple[float, int]]) -> str:
    times = [seconds for seconds, _ in answers]
    statuses = sorted({status for _, status in answers})
    return f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms (statuses {statuses})"


class Stream:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.status = None
        self.events: list[tuple[float, str]] = []

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            f"GET /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {self.token}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await self.writer.drain()
        self.status = int((await self.reader.readline()).split()[1])

    async def read(self):
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if line.startswith(b"event: "):
                self.events.append((time.perf_counter(), line[7:].strip().decode()))

    def close(self):
        self.writer.close()


def setup(users: int):
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from tasks.models import Task

    tokens = []
    for i in range(users):
        user, _ = User.objects.get_or_create(email=f"bench-live-{i}@example.com",
                                             defaults={"name": f"Bench {i}", "role": User.Role.CEO})
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    actor = User.objects.get(email="bench-live-0@example.com")
    task = Task.objects.filter(title="live fan-out").first() or Task.objects.create(title="live fan-out", creator=actor)
    return tokens, actor, task


async def fan_out(args, tokens, actor, task, events_port, web_base, events_base, events_pid):
    from asgiref.sync import sync_to_async

    from tasks.services import task_update

    streams = [Stream(events_port, tokens[i // 4]) for i in range(args.streams)]
    for chunk in range(0, len(streams), 50):
        await asyncio.gather(*(s.open() for s in streams[chunk:chunk + 50]))
    opened = [s for s in streams if s.status == 200]
    readers = [asyncio.create_task(s.read()) for s in opened]
    print(f"ASGI: {len(opened)} of {len(streams)} streams open (statuses: "
          f"{sorted({s.status for s in streams})})")
    await asyncio.sleep(1)
    web = await asyncio.to_thread(health_times, web_base)
    events = await asyncio.to_thread(health_times, events_base)
    print(f"  /health/ on gunicorn meanwhile: {describe(web)}; on uvicorn itself: {describe(events)}")

    idle_cpu = cpu_seconds(events_pid)
    await asyncio.sleep(args.idle)
    idle_cpu = cpu_seconds(events_pid) - idle_cpu
    print(f"  uvicorn CPU while idle: {idle_cpu / args.idle * 1000:.1f} ms/s for {len(opened)} streams")

    for round_ in range(3):
        for s in opened:
            s.events.clear()
        cpu_before = cpu_seconds(events_pid)
        started = time.perf_counter()
        await sync_to_async(task_update)(task=task, by=actor, title=f"fan-out {time.time()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(s.events for s in opened):
            await asyncio.sleep(0.01)
        reached = [s.events[0][0] - started for s in opened if s.events]
        await asyncio.sleep(0.5)
        cpu = cpu_seconds(events_pid) - cpu_before
        print(f"  fan-out {round_ + 1}: one task.updated reached {len(reached)}/{len(opened)} streams; commit -> "
              f"median {statistics.median(reached) * 1000:.0f} ms, last {max(reached) * 1000:.0f} ms; "
              f"uvicorn CPU {cpu * 1000:.0f} ms ({cpu / len(opened) * 1000:.2f} ms per stream)")
    for s in opened:
        s.close()
    for reader in readers:
        reader.cancel()


async def sync_path(args, tokens, web_port, web_base):
    streams = [Stream(web_port, tokens[i // 4]) for i in range(args.sync_streams)]
    for s in streams:
        await s.open()
    statuses = [s.status for s in streams]
    print(f"gthread: {statuses.count(200)} of {len(streams)} streams served, {statuses.count(429)} answered 429")
    web = await asyncio.to_thread(health_times, web_base)
    print(f"  /health/ on gunicorn meanwhile: {describe(web)}")
    for s in streams:
        s.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=400)
    parser.add_argument("--sync-streams", type=int, default=24)
    parser.add_argument("--idle", type=float, default=5)
    args = parser.parse_args()
    tokens, actor, task = setup(max(args.streams, args.sync_streams) // 4 + 1)
    env = {**os.environ, "LIVE_STREAM_SECONDS": "300", "GUNICORN_ACCESS_LOG": "", "LOG_LEVEL": "WARNING"}
    web_port, events_port = free_port(), free_port()
    logs = open("/tmp/live_fanout_servers.log", "w")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                            "-b", f"127.0.0.1:{web_port}"], cwd=BASE_DIR, env=env, stdout=logs, stderr=logs)
    events = subprocess.Popen([sys.executable, "-m", "config.events_server", "--port", str(events_port),
                               "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "5"],
                              cwd=BASE_DIR, env=env, stdout=logs, stderr=logs)
    web_base, events_base = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{events_port}"
    try:
        wait_up(web_base, web)
        wait_up(events_base, events)
        print(f"load average before: {os.getloadavg()}")
        print(f"/health/ on gunicorn, no streams: {describe(health_times(web_base))}")
        asyncio.run(fan_out(args, tokens, actor, task, events_port, web_base, events_base, events.pid))
        asyncio.run(sync_path(args, tokens, web_port, web_base))
        print(f"load average after: {os.getloadavg()}")
    finally:
        for proc in (web, events):
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
