"""bench/scale.py runs end to end on a tiny size (the real run, 1,000,000 tasks, is not for CI)."""

import os
import re
import subprocess
import sys

import pytest
from django.db import connection

from conftest import BASE_DIR, database_url_for_subprocess

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def bench_databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench_scale_%%'")
        return {row[0] for row in cursor.fetchall()}


def test_scale_bench_measures_both_sizes_and_drops_its_database():
    before = bench_databases()
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}

    result = subprocess.run(
        [sys.executable, "bench/scale.py", "--tasks", "3000", "--repeat", "1", "--overdue", "50"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=240,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| GET") or line.startswith("| P")]
    assert len(rows) == 16 and all(line.count("x)") == 3 for line in rows), result.stdout
    written = r" +[\d.]+ s \(([\d,]+) queries, ([\d,]+) notifications, ([\d,]+) live events; "
    expiry = [re.search(way + written, result.stdout) for way in ("sweep", r"save\(\) loop", "per-row loop")]
    assert all(expiry), result.stdout
    sweep, save_loop, per_row = (found.groups() for found in expiry)
    # The sweep's queries do not grow with the table.
    assert f"; {sweep[0]} queries for 50 in 2,000" in result.stdout, result.stdout
    # The per-row loop does the sweep's work (the same rows written); the bare save() loop none of it.
    assert int(sweep[1].replace(",", "")) >= 50, result.stdout
    assert per_row[1:] == sweep[1:] and save_loop[1:] == ("0", "0"), result.stdout
    assert bench_databases() == before
