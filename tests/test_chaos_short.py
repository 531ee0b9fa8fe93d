"""The short chaos run in CI (bench/chaos.py at a small size, same ledger, same verdict).

One web process, two workers (`default,emails` and the jobs' `task_api` queue), two beats at
once, on a Redis of the test's own that is killed and started again (empty) halfway through;
100 executions, 20 one-off scheduled runs, two schedules fired every 2 s, 50 tasks that fall
due and are expired (and emailed about) by sweeps every 5 s, and a kill -9 of a random worker
every 8 s. The ledger must show no violation: every execution terminal, no job body run twice,
no tick of a schedule fired twice although two beats fire each, no task expired twice, every
email sent (once per Message-ID), nothing stuck.
"""

import shutil

import pytest

from bench import chaos
from conftest import database_url_for_subprocess

pytestmark = [pytest.mark.services, pytest.mark.timeout(150)]


@pytest.fixture
def ledger_tables(transactional_db):
    yield
    chaos.drop_ledger_tables()


def test_short_chaos_run_keeps_every_promise(ledger_tables, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("the chaos run starts its own redis-server (apt-get install redis-server)")
    from core.beat import beat_schedule_sync

    beat_schedule_sync()
    args = chaos.parse_args([
        "--executions", "100", "--scheduled", "20", "--schedules", "2", "--schedule-every", "2",
        "--expiring", "50", "--load-seconds", "20", "--kill-every", "8", "--web", "1",
        "--workers", "default+emails,task_api", "--sweep-every", "5", "--time-limit", "8",
        "--clients", "4", "--quiet-timeout", "60", "--seed", "12",
    ])

    result = chaos.run_chaos(args, database_url_for_subprocess(), tmp_path)

    book = result["ledger"]
    report = chaos.format_ledger(book, result["violations"])
    assert result["violations"] == [], report
    assert len(result["kills"]) >= 2 and len(result["redis restarts"]) == 1, report
    assert book["executions"]["by kind"] == {"now": 100, "scheduled": 20, "recurring": pytest.approx(
        book["executions"]["by kind"]["recurring"])}, report
    # Both beats fired every tick; each tick became one execution, and there were several.
    for schedule in book["recurring"]:
        assert schedule["executions"] >= 3 and schedule["ticks fired twice"] == 0, report
    assert book["expiry"]["failed"] == 50 and book["emails"]["notifications by email status"] == {"sent": 50}, report
