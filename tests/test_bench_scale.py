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
    sweep = re.search(r"\((\d+) queries; (\d+) queries for 50 in 2,000", result.stdout)
    assert sweep and sweep[1] == sweep[2], result.stdout  # the sweep's queries do not grow with the table
    assert bench_databases() == before
