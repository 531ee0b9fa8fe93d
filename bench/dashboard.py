"""Server time of the staff dashboard (the admin index) at 1,000,000 tasks and 1,000,000 executions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python bench/dashboard.py [--tasks N --executions M]

Creates its own database (`bench_dashboard_<pid>`, dropped at the end unless --keep-db) and seeds
it with bench/scale.py's Seeder (organisation, tasks and their rows), then adds M task-API
executions over the last 30 days (a few percent failed, revoked, waiting or running; run times
0.1-30 s) with SQL. Measures GET /admin/ as a superuser in process (Django's test client): the
median of --repeat runs after a warm-up, its query count, and the EXPLAIN ANALYZE time of each
dashboard query. Queue depths read the broker of CELERY_BROKER_URL/REDIS_URL (n/a when none answers).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.scale import Seeder, bench_database_url, create_database, drop_database, setup_django  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def add_executions(n: int) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM accounts_user")
        u0 = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO task_api_taskexecution (id, task_name, args, kwargs, status, celery_task_id,
                request_fingerprint, retries, created_at, dispatched_at, started_at, completed_at, user_id, error)
            SELECT gen_random_uuid(), (ARRAY['task_api.tasks.add', 'tasks.reports.tasks_summary_report',
                    'accounts.tasks.send_verification_email', 'task_api.tasks.purge_executions'])[1 + h %% 4],
                '[1, 2]', '{}', s.status, gen_random_uuid()::text, '', 0, s.created, s.created,
                CASE WHEN s.status IN ('SUCCESS', 'FAILURE', 'STARTED') THEN s.created + interval '1 second' END,
                CASE WHEN s.status IN ('SUCCESS', 'FAILURE')
                     THEN s.created + interval '1 second' + (100 + h %% 30000) * interval '1 millisecond' END,
                %(u0)s + h %% 2000,
                CASE WHEN s.status = 'FAILURE' THEN 'ValueError: bench' END
            FROM (
                SELECT g, abs(hashint8extended(g, 9)) %% 1000000 AS h,
                    now() - (g::float / %(n)s) * interval '30 days' AS created,
                    CASE WHEN g %% 100 < 90 THEN 'SUCCESS' WHEN g %% 100 < 95 THEN 'FAILURE'
                         WHEN g %% 100 < 98 THEN 'REVOKED' ELSE 'SUCCESS' END AS status
                FROM generate_series(1, %(n)s) g
            ) s
            """,
            {"n": n, "u0": u0},
        )
        cursor.execute("VACUUM ANALYZE task_api_taskexecution")
    return time.perf_counter() - started


def explain_dashboard_queries() -> list[tuple[float, str]]:
    """(execution ms, first 90 characters) of each query the dashboard runs, slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from staff import selectors

    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard(now=timezone.now())
    timings = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
            plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            timings.append((plan["Execution Time"], " ".join(query["sql"].split())[:90]))
    return sorted(timings, reverse=True)


def run(args):
    name = f"bench_dashboard_{os.getpid()}"
    url = bench_database_url(name)
    create_database(url, name)
    try:
        setup_django(url)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User

        seeder = Seeder()
        seeder.people()
        print(f"seeded {args.tasks:,} tasks in {seeder.grow_to(args.tasks):.1f} s", flush=True)
        print(f"added {args.executions:,} executions in {add_executions(args.executions):.1f} s", flush=True)
        admin = User.objects.create_superuser(email="bench.admin@scale.local", password="x", name="Bench")
        client = Client()
        client.force_login(admin)
        client.get("/admin/")  # warm-up
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get("/admin/")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get("/admin/")
        print(f"\nGET /admin/ (dashboard) at {args.tasks:,} tasks / {args.executions:,} executions: "
              f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
              f"max {max(times) * 1000:.0f}) over {args.repeat} runs, {len(queries)} queries")
        print("\ndashboard queries, EXPLAIN ANALYZE execution time:")
        for ms, sql in explain_dashboard_queries():
            print(f"  {ms:8.1f} ms  {sql}")
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database(url, name)


if __name__ == "__main__":
    run(parse_args())
