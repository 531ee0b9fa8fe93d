"""Server time per request at 2,000 tasks and at N (default 1,000,000), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python bench/scale.py [--tasks N]

Creates its own two databases (`bench_scale_<pid>` and `bench_scale_<pid>_base` on the server of
DATABASE_URL; dropped at the end unless --keep-db), migrates them, and seeds the same
organisation in each with SQL `generate_series` (2,000 users in 20 departments, a manager each,
a CEO and HR; tasks in the creator's department with 1-2 assignees from it, one comment per four
tasks, status history, assignment records, notifications, task-API executions): the base size
(2,000 tasks) in the second, N in the first. Then it measures each request on both, one right
after the other, so the machine's speed, which drifts over the minutes of a run, weighs on both
sizes alike: in-process requests through DRF's APIClient with token auth, the median of --repeat
runs after a warm-up, for an employee, a manager and the CEO.
Prints each request's two medians and their ratio, then the expiry measurement: 10,000 overdue
tasks inside the big table failed by the real sweep, by the bare save() loop the issue names
(each task saved and its history row written) and by a per-row loop doing the sweep's whole
work (also each task's notifications, live events and webhook deliveries, announced task by
task), over the same rows, each timed to its COMMIT (what runs after it, such as the emails
handed to the broker, apart); and the sweep's query count at both sizes. --explain prints
EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL of the request that grew most.
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
USERS = 2000
DEPARTMENTS = 20
WORDS = (
    "budget review report launch hiring audit design migrate invoice onboarding roadmap backlog "
    "security release vendor contract training survey forecast payroll cleanup dashboard support "
    "pricing inventory compliance outage retro planning interview"
).split()
PERSONAS = ("employee", "manager", "ceo")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000, help="the big size")
    parser.add_argument("--base", type=int, default=2000, help="the small size")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per request (median)")
    parser.add_argument("--overdue", type=int, default=10_000, help="overdue tasks for the expiry measurement")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest SQL of the worst request")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def bench_database_url(name: str) -> str:
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres", "pgsql")):
        sys.exit("DATABASE_URL must point at PostgreSQL (its server hosts the bench database).")
    return urlunsplit(urlsplit(source)._replace(path=f"/{name}"))


def admin_connection(url: str):
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    return psycopg.connect(
        dbname="postgres", user=config["USER"], password=config["PASSWORD"] or None,
        host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432, autocommit=True,
    )


def create_database(url: str, name: str) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would record every query in memory
    # The bench sends hundreds of requests a minute as one user: rate limits are not measured.
    for name in ("THROTTLE_USER_RATE", "THROTTLE_KEY_RATE", "THROTTLE_EXECUTE_RATE"):
        os.environ[name] = "1000000/min"
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _database_defaults() -> None:
    """Give NOT NULL columns their Django default in the database too (this database only),
    so the seeding SQL below keeps working when an app adds a column it does not name."""
    import json

    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if field.null or not field.has_default() or field.primary_key:
                    continue
                value = field.get_default()
                if not isinstance(value, (bool, int, float, str, dict, list)):
                    continue
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                literal = connection.ops.compose_sql("%s", [value])
                cursor.execute(
                    f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}" SET DEFAULT {literal}'
                )


SEEDED_TABLES = [
    "tasks_task", "tasks_task_assignees", "tasks_taskassignment", "tasks_taskstatushistory",
    "comments_comment", "notifications_notification", "task_api_taskexecution",
]


@contextmanager
def _bulk_load(cursor):
    """Load with the secondary indexes dropped (rebuilt after, each in one sort) and foreign-key
    triggers off (the rows are consistent by construction): a million rows in minutes, not hours."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
        [SEEDED_TABLES],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")
    # Index builds sort in memory; the INSERT ... SELECTs join and sort in memory; commits
    # need not wait for the disk (a crash loses only this throwaway database).
    cursor.execute("SET maintenance_work_mem = '512MB'")
    cursor.execute("SET work_mem = '64MB'")
    cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
        for _, definition in indexes:
            cursor.execute(definition)


class Seeder:
    """Fills the bench database with SQL; `grow_to(n)` adds tasks (and their rows) up to n."""

    def __init__(self):
        self.tasks = 0

    def people(self) -> dict:
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from accounts.models import Department, User

        call_command("migrate", verbosity=0)
        _database_defaults()
        departments = Department.objects.bulk_create(Department(name=f"Department {d}") for d in range(DEPARTMENTS))
        self.dept0 = departments[0].pk

        def role(k):
            if k < DEPARTMENTS:
                return User.Role.MANAGER
            return {DEPARTMENTS: User.Role.CEO, DEPARTMENTS + 1: User.Role.HR}.get(k, User.Role.EMPLOYEE)

        users = User.objects.bulk_create(
            User(
                email=f"user{k}@scale.local", name=f"Person {k}",
                role=role(k), department_id=departments[k % DEPARTMENTS].pk, password="!",
            )
            for k in range(USERS)
        )
        self.user0 = users[0].pk
        # User k is in department k % 20; the first 20 users manage them.
        assert users[-1].pk - self.user0 == USERS - 1, "user ids must be contiguous"
        for department, manager in zip(departments, users, strict=False):
            department.manager = manager
        Department.objects.bulk_update(departments, ["manager"])
        personas = {"employee": users[DEPARTMENTS * 2 + 5], "manager": users[5], "ceo": users[DEPARTMENTS]}
        return {name: (user, Token.objects.create(user=user).key) for name, user in personas.items()}

    def grow_to(self, n: int) -> float:
        """Insert tasks self.tasks+1..n with their rows; returns the seconds it took."""
        from django.db import connection

        started = time.perf_counter()
        lo, hi = self.tasks + 1, n
        words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
        params = {
            "lo": lo, "hi": hi, "u0": self.user0, "d0": self.dept0, "nd": DEPARTMENTS, "per": USERS // DEPARTMENTS,
        }
        with connection.cursor() as cursor, _bulk_load(cursor):
            cursor.execute("SELECT max(id) FROM tasks_task")
            first_id = (cursor.fetchone()[0] or 0) + 1
            # h(k) is a deterministic pseudo-random integer in [0, 1e6) per task and salt k.
            cursor.execute(
                f"""
                INSERT INTO tasks_task (external_id, title, description, status, priority, due_date,
                    estimate_hours, completed_at, is_delegated, completed_late, reminder_sent_for,
                    created_at, updated_at, deleted_at, assigned_by_id, creator_id, department_id)
                SELECT gen_random_uuid(),
                    initcap(w[1 + h1 %% {len(WORDS)}]) || ' ' || w[1 + h2 %% {len(WORDS)}] || ' #' || g,
                    'Notes for task ' || g || ': ' || w[1 + h3 %% {len(WORDS)}] || ' and '
                        || w[1 + h4 %% {len(WORDS)}] || '. Lorem ipsum dolor sit amet.',
                    status, (ARRAY['low','medium','high','critical'])[1 + h2 %% 4], due,
                    (h3 %% 40) / 2.0, CASE WHEN status = 'done' THEN due - interval '1 day' END,
                    false, false, NULL, created, created, NULL,
                    %(u0)s + dept, %(u0)s + (h4 %% %(per)s) * %(nd)s + dept, %(d0)s + dept
                FROM (
                    SELECT g, h1, h2, h3, h4, dept, due, created,
                        CASE
                            WHEN due IS NULL THEN (ARRAY['todo','in_progress','done'])[1 + h1 %% 3]
                            -- a few open tasks past due (the sweep would fail them next minute)
                            WHEN due < now() AND h3 %% 200 = 0 THEN 'todo'
                            WHEN due < now() THEN (ARRAY['done','done','done','failed'])[1 + h1 %% 4]
                            ELSE (ARRAY['todo','todo','in_progress','done'])[1 + h1 %% 4]
                        END AS status
                    FROM (
                        SELECT g, h1, h2, h3, h4, h1 %% %(nd)s AS dept,
                            CASE WHEN h2 %% 10 = 0 THEN NULL
                                 ELSE now() + ((h3 %% 1440) - 1080) * interval '12 hours' END AS due,
                            now() - (h4 %% 1000) * interval '1 day' AS created
                        FROM (
                            SELECT g,
                                abs(hashint8extended(g, 1)) %% 1000000 AS h1,
                                abs(hashint8extended(g, 2)) %% 1000000 AS h2,
                                abs(hashint8extended(g, 3)) %% 1000000 AS h3,
                                abs(hashint8extended(g, 4)) %% 1000000 AS h4
                            FROM generate_series(%(lo)s, %(hi)s) g
                        ) hashes
                    ) dated
                ) s, (SELECT {words} AS w) words
                ORDER BY g
                """,
                params,
            )
            cursor.execute("SELECT max(id) FROM tasks_task")
            last_id = cursor.fetchone()[0]
            ids = {"a": first_id, "b": last_id, **params}
            # 1-2 assignees from the task's department: people k and k+1 of its 100, with the
            # copies of their task's columns the (here disabled) triggers would write.
            cursor.execute(
                """
                INSERT INTO tasks_task_assignees (task_id, user_id, task_status, task_due_date, task_live,
                    task_department_id)
                SELECT t.id, %(u0)s + ((abs(hashint8extended(t.id, 5)) + n) %% %(per)s) * %(nd)s
                        + (t.department_id - %(d0)s), t.status, t.due_date, t.deleted_at IS NULL, t.department_id
                FROM tasks_task t, generate_series(0, 1) n
                WHERE t.id BETWEEN %(a)s AND %(b)s AND (n = 0 OR t.id %% 2 = 0)
                ON CONFLICT DO NOTHING
                """,
                ids,
            )
            cursor.execute(
                """
                INSERT INTO tasks_taskassignment (action, created_at, assigned_by_id, assigned_to_id, task_id,
                    task_department_id, task_live)
                SELECT 'assigned', t.created_at, t.assigned_by_id, a.user_id, t.id, t.department_id,
                    t.deleted_at IS NULL
                FROM tasks_task_assignees a JOIN tasks_task t ON t.id = a.task_id
                WHERE a.task_id BETWEEN %(a)s AND %(b)s
                """,
                ids,
            )
            cursor.execute(
                """
                INSERT INTO tasks_taskstatushistory (from_status, to_status, created_at, changed_by_id, task_id)
                SELECT '', 'todo', created_at, creator_id, id FROM tasks_task WHERE id BETWEEN %(a)s AND %(b)s
                UNION ALL
                SELECT 'todo', status, created_at + interval '1 hour', creator_id, id
                FROM tasks_task WHERE id BETWEEN %(a)s AND %(b)s AND status <> 'todo'
                """,
                ids,
            )
            cursor.execute(
                """
                INSERT INTO comments_comment (content, created_at, updated_at, author_id, task_id)
                SELECT 'Looked at this: ' || title, created_at + interval '2 hours', created_at + interval '2 hours',
                    creator_id, id
                FROM tasks_task WHERE id BETWEEN %(a)s AND %(b)s AND id %% 4 = 0
                """,
                ids,
            )
            cursor.execute(
                """
                INSERT INTO notifications_notification (kind, message, created_at, read_at, email_status,
                    email_attempts, email_queued_at, email_sent_at, email_error, actor_id, recipient_id,
                    task_id, email_claimed_at)
                SELECT 'assigned', 'You were assigned to ' || t.title, t.created_at,
                    CASE WHEN t.id %% 3 = 0 THEN NULL ELSE t.created_at + interval '1 day' END,
                    'sent', 1, t.created_at, t.created_at, '', t.assigned_by_id, a.user_id, t.id, t.created_at
                FROM tasks_task_assignees a JOIN tasks_task t ON t.id = a.task_id
                WHERE a.task_id BETWEEN %(a)s AND %(b)s
                """,
                ids,
            )
            # One task-API execution per 20 tasks, spread over everyone.
            cursor.execute(
                """
                INSERT INTO task_api_taskexecution (id, task_name, args, kwargs, status, result, celery_task_id,
                    request_fingerprint, retries, created_at, started_at, completed_at, user_id)
                SELECT gen_random_uuid(), 'task_api.tasks.add', '[1, 2]', '{}', 'SUCCESS', '3',
                    gen_random_uuid()::text, '', 0, now() - g * interval '1 minute',
                    now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '1 second',
                    %(u0)s + g %% 2000
                FROM generate_series(%(lo)s, %(hi)s) g WHERE g %% 20 = 0
                """,
                params,
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.tasks = n
        return time.perf_counter() - started


def measure(client, method, path, body, repeat) -> tuple[float, int]:
    """Median milliseconds of `repeat` requests (after one warm-up) and the last status."""
    call = getattr(client, method)
    kwargs = {"format": "json"} if body is not None else {}
    response = call(path, body, **kwargs) if body is not None else call(path)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call(path, body, **kwargs) if body is not None else call(path)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), response.status_code


def requests_for(persona: str, user, seeder: Seeder) -> list[tuple[str, str, str, object]]:
    """(label, method, path, body) for one persona, addressing rows that exist at the current size."""
    from django.utils import timezone

    from tasks.models import Task
    from tasks.selectors import tasks_visible_to

    visible = tasks_visible_to(user).order_by("-id")
    task = visible.first()
    editable = visible.filter(creator=user).first() or task
    soon = (timezone.now() + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    future = (timezone.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assignee = seeder.user0 + DEPARTMENTS * 3 + user.department_id - seeder.dept0
    priorities = [p for p, _ in Task.Priority.choices]
    return [
        ("GET /tasks/?page_size=10", "get", "/api/v1/tasks/?page_size=10", None),
        ("GET /tasks/?search=budget", "get", "/api/v1/tasks/?search=budget", None),
        ("GET /tasks/?status=todo&ordering=-priority", "get", "/api/v1/tasks/?status=todo&ordering=-priority", None),
        ("GET /users/ (task_stats)", "get", "/api/v1/users/", None),
        ("GET /task-assignments/", "get", "/api/v1/task-assignments/", None),
        ("GET /tasks/?page=50", "get", "/api/v1/tasks/?page=50", None),
        ("GET /tasks/?overdue=true", "get", "/api/v1/tasks/?overdue=true", None),
        ("GET /tasks/?assignee=<id>", "get", f"/api/v1/tasks/?assignee={assignee}", None),
        ("GET /tasks/?due_before=<+7d>", "get", f"/api/v1/tasks/?due_before={soon}", None),
        ("GET /tasks/{id}/", "get", f"/api/v1/tasks/{task.pk}/", None),
        ("GET /tasks/{id}/history/", "get", f"/api/v1/tasks/{task.pk}/history/", None),
        ("GET /tasks/{id}/comments/", "get", f"/api/v1/tasks/{task.pk}/comments/", None),
        ("GET /notifications/", "get", "/api/v1/notifications/", None),
        ("GET /task-api/executions/", "get", "/api/v1/task-api/executions/", None),
        ("POST /tasks/", "post", "/api/v1/tasks/",
         {"title": f"Bench {persona}", "department": user.department_id, "due_date": future}),
        ("PATCH /tasks/{id}/", "patch", f"/api/v1/tasks/{editable.pk}/",
         {"priority": priorities[editable.pk % len(priorities)]}),
    ]


def use_database(name: str) -> None:
    """Point the `default` connection at database `name` (the next query reconnects), and forget
    what this process remembered of the other database's tables."""
    from django.conf import settings
    from django.db import connections

    from core import pagination

    connections["default"].close()
    settings.DATABASES["default"]["NAME"] = connections["default"].settings_dict["NAME"] = name
    pagination._table_rows.clear()


def run_requests(sizes: dict, repeat) -> tuple[dict, dict]:
    """Each request measured at both sizes one right after the other, so the machine's speed,
    which drifts over the minutes a run takes, weighs on both alike. `sizes`: {"small"/"big":
    (database, seeder, personas)} -> (small results, big results)."""
    from rest_framework.test import APIClient

    planned = {}
    for size, (database, seeder, personas) in sizes.items():
        use_database(database)
        planned[size] = {
            persona: (key, requests_for(persona, user, seeder)) for persona, (user, key) in personas.items()
        }
    results = {size: {} for size in sizes}
    for persona in planned["small"]:
        for index in range(len(planned["small"][persona][1])):
            for size, (database, _, _) in sizes.items():
                use_database(database)
                key, requests = planned[size][persona]
                label, method, path, body = requests[index]
                client = APIClient()
                client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
                results[size][label, persona] = (*measure(client, method, path, body, repeat), method, path, body, key)
    return results["small"], results["big"]


@dataclass
class Expiry:
    """One way of failing the overdue tasks: its time up to and including COMMIT, the time of
    what the commit then runs (the on_commit callbacks: emails handed to the broker, live
    wake-ups), its queries before the commit, and the rows it wrote besides the tasks'."""

    seconds: float = 0.0
    after_commit: float = 0.0
    queries: int = 0
    notifications: int = 0
    events: int = 0

    def describe(self) -> str:
        return (f"{self.seconds:.2f} s ({self.queries:,} queries, {self.notifications:,} notifications, "
                f"{self.events:,} live events; then {self.after_commit:.2f} s after commit)")


@contextmanager
def _timed_expiry():
    """Run the block in one transaction and measure it as an Expiry (see there)."""
    from django.db import connection, transaction

    from live.models import Event
    from notifications.models import Notification

    def last_id(model):
        return model.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def count(execute, sql, params, many, context):
        # A counter, not CaptureQueriesContext: that keeps only the last 9,000 queries.
        measured.queries += 1
        return execute(sql, params, many, context)

    measured, marks = Expiry(), {}
    notifications_before, events_before = last_id(Notification), last_id(Event)
    started = time.perf_counter()
    with transaction.atomic():
        # Registered first, so it runs first: right after COMMIT returned.
        transaction.on_commit(lambda: marks.setdefault("committed", time.perf_counter()))
        with connection.execute_wrapper(count):
            yield measured
    ended = time.perf_counter()
    measured.seconds = marks["committed"] - started
    measured.after_commit = ended - marks["committed"]
    measured.notifications = Notification.objects.filter(id__gt=notifications_before).count()
    measured.events = Event.objects.filter(id__gt=events_before).count()


def sweep_expiry(n_overdue: int) -> tuple[Expiry, list[int]]:
    """Make n_overdue tasks open and past due and run the real sweep; (Expiry, their ids)."""
    from tasks.expiry import task_expire_overdue

    ids = _make_overdue(n_overdue)
    with _timed_expiry() as measured:
        expired = task_expire_overdue()
    assert expired >= n_overdue, (expired, n_overdue)
    return measured, ids


def _make_overdue(n: int, ids: list[int] | None = None) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        # Whatever the seed left open past due is failed first, so the sweep sees exactly these.
        cursor.execute(
            "UPDATE tasks_task SET status = 'failed' WHERE status IN ('todo', 'in_progress') AND due_date < now()"
        )
        if ids is None:
            cursor.execute(
                "SELECT id FROM tasks_task WHERE deleted_at IS NULL AND status = 'done' "
                "ORDER BY md5(id::text) LIMIT %s",
                [n],
            )
            ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "UPDATE tasks_task SET status = 'todo', due_date = now() - interval '1 hour', completed_at = NULL "
            "WHERE id = ANY(%s)",
            [ids],
        )
    return ids


def save_loop_expiry(ids: list[int]) -> Expiry:
    """The loop the issue names: each task loaded, saved failed, and its history row written
    (no notification, live event or webhook: a fraction of the sweep's work)."""
    from tasks.models import Task, TaskStatusHistory

    _make_overdue(len(ids), ids)
    with _timed_expiry() as measured:
        for task in Task.objects.filter(id__in=ids):
            previous = task.status
            task.status = Task.Status.FAILED
            task.save()
            TaskStatusHistory.objects.create(task=task, from_status=previous, to_status=task.status)
    return measured


def per_row_expiry(ids: list[int]) -> Expiry:
    """The sweep's whole work done the naive way, in one transaction as the sweep: per task,
    load it, save() it failed, write its history row and announce it alone, as a write of one
    task does (tasks_expired naming one task, so the same receivers write its notifications,
    their live events and emails, its webhook deliveries)."""
    from tasks.expiry import notify_tasks_expired
    from tasks.models import Task, TaskStatusHistory

    _make_overdue(len(ids), ids)
    with _timed_expiry() as measured:
        for task_id in ids:
            task = Task.objects.get(id=task_id)
            previous = task.status
            task.status = Task.Status.FAILED
            task.save()
            TaskStatusHistory.objects.create(task=task, from_status=previous, to_status=task.status)
            notify_tasks_expired(task_titles={task.id: task.title})
    return measured


def explain_slowest(method, path, body, key) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL statement one request runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as captured:
        getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
    slowest = max(
        (q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")),
        key=lambda q: float(q["time"]),
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return f"{slowest['sql']}\n\n{plan}"


def format_table(small: dict, big: dict, base: int, n: int) -> tuple[str, float]:
    labels = list(dict.fromkeys(label for label, _ in small))
    lines = [
        f"| request ({base:,} -> {n:,} tasks, median ms) | " + " | ".join(PERSONAS) + " |",
        "|---|" + "---|" * len(PERSONAS),
    ]
    worst = 0.0
    for label in labels:
        cells = []
        for persona in PERSONAS:
            a, status_a = small[label, persona][:2]
            b, status_b = big[label, persona][:2]
            ratio = b / a if a else float("inf")
            worst = max(worst, ratio)
            statuses = "" if status_a == status_b and status_a < 300 else f" [{status_a}/{status_b}]"
            cells.append(f"{a:.1f} -> {b:.1f} ({ratio:.2f}x){statuses}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines), worst


def run(args) -> dict:
    # The big database, and one of the base size beside it: each request is measured on both
    # in turn (see run_requests).
    name = f"bench_scale_{os.getpid()}"
    base_name = f"{name}_base"
    url = bench_database_url(name)
    create_database(url, name)
    create_database(url, base_name)
    try:
        # The tens of thousands of emails the expiry measurements queue go to a broker of this
        # process alone, never to a queue a real worker reads (nor to files under var/broker).
        os.environ["CELERY_BROKER_URL"] = "memory://"
        setup_django(url)
        from django.conf import settings

        use_database(base_name)
        small_seeder = Seeder()
        small_personas = small_seeder.people()
        seeded = small_seeder.grow_to(args.base)
        print(f"seeded {args.base:,} tasks in {seeded:.1f} s", flush=True)
        use_database(name)
        seeder = Seeder()
        personas = seeder.people()
        seeder.grow_to(args.base)
        seeded = seeder.grow_to(args.tasks)
        print(f"grew a second database to {args.tasks:,} tasks in {seeded:.1f} s", flush=True)
        small, big = run_requests(
            {"small": (base_name, small_seeder, small_personas), "big": (name, seeder, personas)}, args.repeat
        )
        use_database(base_name)
        small_sweep, small_ids = sweep_expiry(min(args.overdue, args.base // 20))
        use_database(name)
        table, worst = format_table(small, big, args.base, args.tasks)
        print(f"\nEXACT_COUNT_LIMIT={getattr(settings, 'EXACT_COUNT_LIMIT', None)}; "
              f"median of {args.repeat}; statuses shown when not 2xx at both sizes\n")
        print(table, flush=True)
        sweep, ids = sweep_expiry(args.overdue)
        save_loop, per_row = save_loop_expiry(ids), per_row_expiry(ids)
        print(
            f"\nexpiry of {len(ids):,} overdue tasks in {args.tasks:,}, each in one transaction timed to its "
            f"COMMIT:\n"
            f"  sweep         {sweep.describe()}; {small_sweep.queries} queries for {len(small_ids)} "
            f"in {args.base:,}\n"
            f"  save() loop   {save_loop.describe()}: {save_loop.seconds / sweep.seconds:.1f}x the sweep\n"
            f"  per-row loop  {per_row.describe()}: {per_row.seconds / sweep.seconds:.1f}x the sweep",
            flush=True,
        )
        if args.explain:
            label, persona = max(big, key=lambda k: big[k][0] / max(small[k][0], 1e-9))
            print(f"\nslowest SQL of {label} as {persona} at {args.tasks:,}:\n")
            print(explain_slowest(*big[label, persona][2:]))
        return {
            "small": small, "big": big, "worst_ratio": worst, "sweep_queries": (small_sweep.queries, sweep.queries),
            "sweep": sweep, "save_loop": save_loop, "per_row": per_row,
        }
    finally:
        if not args.keep_db:
            drop_database(url, name)
            drop_database(url, base_name)


if __name__ == "__main__":
    run(parse_args())
