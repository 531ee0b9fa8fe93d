"""`manage.py runall`, the supervisor behind `make run`, with stand-in processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import wait_for
from core.tests.test_make_run import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
# Exits 0 a moment after SIGTERM, as a worker finishing its warm shutdown does.
GRACEFUL = (
    f"{sys.executable} -c \"import signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.5), sys.exit(0))); "
    "print('READY', flush=True); time.sleep(60)\""
)
CRASHES = f"{sys.executable} -c \"import sys, time; time.sleep(1); sys.exit(3)\""
STUCK = (
    f"{sys.executable} -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('READY', flush=True); time.sleep(60)\""
)


def ready(line):
    return line.rstrip().endswith("| READY")


def runall(tmp_path, procfile, *args):
    (tmp_path / "Procfile").write_text(procfile)
    env = {**os.environ, "TASKHUB_PORT": str(free_port())}
    return subprocess.Popen(
        [sys.executable, "manage.py", "runall", "--procfile", str(tmp_path / "Procfile"), *args],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_sigint_stops_every_process_with_one_sigterm_and_exits_0(tmp_path):
    proc = runall(tmp_path, f"one: {GRACEFUL}\ntwo: {GRACEFUL}\n")
    lines = []
    wait_for(lambda: sum(map(ready, lines)) == 2 or lines.append(proc.stdout.readline()),
             timeout=60, message="both processes")

    proc.send_signal(signal.SIGINT)
    output = "".join(lines) + proc.communicate(timeout=30)[0]

    assert proc.returncode == 0, output
    assert "one exited with code 0" in output and "two exited with code 0" in output
    assert "killed" not in output


def test_a_process_that_exits_stops_the_others_and_sets_the_exit_status(tmp_path):
    proc = runall(tmp_path, f"steady: {GRACEFUL}\ncrash: {CRASHES}\n")

    output = proc.communicate(timeout=60)[0]

    assert proc.returncode == 3, output
    assert "crash exited with code 3: stopping the rest" in output
    assert "steady exited with code 0" in output


def test_a_process_still_running_after_the_grace_period_is_killed_and_the_status_says_so(tmp_path):
    proc = runall(tmp_path, f"stuck: {STUCK}\n", "--grace", "1")
    wait_for(lambda: ready(proc.stdout.readline()), timeout=60, message="the process")

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=30)[0]

    assert proc.returncode == 1, output
    assert "stuck killed (still running after 1 s)" in output
    assert time.monotonic() - started < 10


def test_check_port_refuses_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "runall", "--check-port"], cwd=BASE_DIR,
            env={**os.environ, "TASKHUB_PORT": str(port)}, capture_output=True, text=True, timeout=60,
        )

    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
