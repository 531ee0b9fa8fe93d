"""`manage.py runall`: the processes of Procfile.dev (web, worker, beat, events) in the foreground, as
`make run` starts them; one Ctrl-C stops them all cleanly.

Each Procfile line is one command, run by /bin/sh with `exec` (so signals reach the process
itself, not a shell). Each process gets one SIGTERM, the signal it shuts down gracefully on
(Celery's warm shutdown, gunicorn's graceful stop), and up to `--grace` seconds to exit; only a
process still running then is killed. An idle Celery worker on the filesystem broker needs
5-8 s to stop, more than the 5 s honcho gave it before its SIGKILL.

On a terminal this process takes the foreground process group, so Ctrl-C reaches it alone:
not make, which would die of the SIGINT and exit 130 whatever its child does, nor the
children, which would get a second signal. It gives the terminal back on exit.
"""

import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def web_port() -> int:
    """The port Procfile.dev's web process binds (TASKHUB_PORT, as there)."""
    raw = os.environ.get("TASKHUB_PORT") or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"TASKHUB_PORT must be a port number (1-65535), not {raw!r}.")
    return int(raw)


def events_port(web: int) -> int:
    """The port Procfile.dev's `events` process (uvicorn, live event streams) binds: EVENTS_PORT,
    else the web port + 1000, so two `make run`s a port apart never collide."""
    raw = os.environ.get("EVENTS_PORT") or str(web + 1000)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"EVENTS_PORT must be a port number (1-65535), not {raw!r}.")
    return int(raw)


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something listens on host:port (bound as gunicorn binds, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def read_procfile(path: Path) -> dict[str, str]:
    processes = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line.strip())
        if match:
            processes[match.group(1)] = match.group(2)
    if not processes:
        raise CommandError(f"{path}: no `name: command` lines")
    return processes


def die_with_parent() -> None:
    """In the child: a SIGTERM when the supervisor dies, however it dies (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def terminal_foreground():
    """Make this process's own group the terminal's foreground group while the block runs.

    Ctrl-C then signals this group only: the children run in groups of their own, and make
    (our parent) keeps waiting and exits with our status instead of dying of the SIGINT.
    Without a terminal, or when not in the foreground, nothing changes.
    """
    try:
        fd = sys.stdin.fileno()
        ours = os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp() and os.getsid(0) != os.getpid()
    except (OSError, ValueError):
        ours = False
    if not ours:
        yield
        return
    previous = os.getpgrp()
    # Changing the foreground group from outside it would stop us with SIGTTOU.
    ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    # Ctrl-Z would stop this process alone while make waits behind it: ignored.
    tstp = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(fd, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, previous)
        signal.signal(signal.SIGTTOU, ttou)
        signal.signal(signal.SIGTSTP, tstp)


class Supervisor:
    def __init__(self, processes: dict[str, str], grace: float, out=None):
        self.commands = processes
        self.grace = grace
        self.out = out or sys.stdout
        self.width = max(len(name) for name in processes)
        self.procs: dict[str, subprocess.Popen] = {}
        self.readers: list[threading.Thread] = []
        self.write_lock = threading.Lock()
        self.stop_requested: int | None = None
        self.stopping = threading.Event()

    def say(self, name: str, text: str) -> None:
        with self.write_lock:
            self.out.write(f"{name:<{self.width}} | {text}\n")
            self.out.flush()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # gunicorn and celery from this interpreter's environment, as `make run` installed them.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        for name, command in self.commands.items():
            proc = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=env, cwd=settings.BASE_DIR, process_group=0, preexec_fn=die_with_parent,
            )
            self.procs[name] = proc
            self.say("system", f"{name} started (pid {proc.pid}): {command}")
            reader = threading.Thread(target=self.relay, args=(name, proc), daemon=True)
            reader.start()
            self.readers.append(reader)

    def relay(self, name: str, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def on_signal(self, signum, frame) -> None:
        if self.stop_requested is None:
            self.stop_requested = signum
            self.stopping.set()
        else:
            self.kill_all(f"{signal.Signals(signum).name} again")

    def kill_all(self, reason: str) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.say("system", f"{name} killed ({reason})")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def run(self) -> int:
        """Start everything, wait for a stop signal or a process ending, stop the rest -> exit status."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)
        self.start()
        while not self.stopping.is_set() and all(p.poll() is None for p in self.procs.values()):
            self.stopping.wait(0.2)
        first_dead = next((n for n, p in self.procs.items() if p.poll() is not None), None)
        if self.stop_requested is not None:
            self.say("system", f"{signal.Signals(self.stop_requested).name} received: stopping "
                     f"(up to {self.grace:g} s; press Ctrl-C again to kill now)")
        else:
            self.say("system", f"{first_dead} exited with code {self.procs[first_dead].returncode}: stopping the rest")
        return self.stop(first_dead if self.stop_requested is None else None)

    def stop(self, first_dead: str | None) -> int:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        reported = set()
        while len(reported) < len(self.procs):
            for name, proc in self.procs.items():
                if name not in reported and proc.poll() is not None:
                    reported.add(name)
                    self.say("system", f"{name} exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                self.kill_all(f"still running after {self.grace:g} s")
                deadline = float("inf")
            time.sleep(0.05)
        for reader in self.readers:
            reader.join(2)
        codes = {name: proc.returncode for name, proc in self.procs.items()}
        if first_dead is not None:
            return codes[first_dead] or 1
        return 0 if all(code == 0 for code in codes.values()) else 1


class Command(BaseCommand):
    help = (
        "Run the processes of Procfile.dev (web, worker, beat, events) until Ctrl-C, then stop them "
        "gracefully. --check-port only checks that the web and events ports (TASKHUB_PORT, EVENTS_PORT) are free."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--procfile", default="Procfile.dev")
        # An idle system stops in 5-8 s (the worker is the slowest); the margin is for a loaded
        # machine, where killing a process that is still shutting down cleanly would help no one.
        parser.add_argument("--grace", type=float, default=15.0, help="seconds each process gets to stop")
        parser.add_argument("--check-port", action="store_true", help="only check the web port is free")

    def handle(self, *args, procfile, grace, check_port, **options):
        port = web_port()
        if port_in_use(port):
            raise CommandError(
                f"Port {port} on {HOST} is already in use (another `make run`?). Stop what listens "
                f"there, or choose another port: TASKHUB_PORT={port + 1} make run"
            )
        events = events_port(port)
        if port_in_use(events):
            raise CommandError(
                f"Port {events} on {HOST} (the live events process) is already in use. Stop what listens "
                f"there, or choose another port: EVENTS_PORT={events + 1} make run"
            )
        # Procfile.dev's `events` line binds it.
        os.environ["EVENTS_PORT"] = str(events)
        if check_port:
            return
        processes = read_procfile(Path(settings.BASE_DIR) / procfile)
        with terminal_foreground():
            status = Supervisor(processes, grace).run()
        if status:
            sys.exit(status)
