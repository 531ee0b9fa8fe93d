"""Prometheus metrics: request and database counters kept as requests run, the rest read at scrape.

- `MetricsMiddleware` counts requests by route name, method and status, their latency, and
  the SQL queries each route runs (and the time they take).
- Gauges that describe shared state (queue depths, executions, emails) are computed when
  Prometheus scrapes, from the broker and the database, by the collectors `metrics_view`
  is given: the apps above core supply theirs (config/metrics.py).

Counters live in each process. Under gunicorn with several workers set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory all of them can write (prometheus_client's
multiprocess mode): every scrape then adds up all processes. Without it a scrape answers
for the one process that served it.
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Paths no route matches are one label value, so random URLs cannot grow the series.
UNRESOLVED = "<unresolved>"

HTTP_REQUESTS = Counter(
    "taskhub_http_requests", "HTTP requests answered, by route name, method and status.", ["view", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "taskhub_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by route name and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DB_QUERIES = Counter("taskhub_db_queries", "SQL queries run while serving requests, by route name.", ["view"])
DB_QUERY_SECONDS = Counter(
    "taskhub_db_query_seconds", "Time spent in SQL queries while serving requests, by route name.", ["view"]
)
DB_QUERY_ERRORS = Counter("taskhub_db_query_errors", "SQL queries that raised, by route name.", ["view"])


class _QueryCounter:
    """A database execute wrapper counting one request's queries and their time."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.errors = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.errors += 1
            raise
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None and match.view_name else UNRESOLVED


class MetricsMiddleware:
    """Counts every request by route name, method and status, its latency and its SQL queries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(view, method).observe(elapsed)
        if queries.count:
            DB_QUERIES.labels(view).inc(queries.count)
            DB_QUERY_SECONDS.labels(view).inc(queries.seconds)
        if queries.errors:
            DB_QUERY_ERRORS.labels(view).inc(queries.errors)
        return response


ScrapeCollector = Callable[[], Iterable[Metric]]

# A database aggregate run at scrape is cut off after this long (PostgreSQL): a slow
# scrape must not pile up behind a slow query.
SCRAPE_QUERY_TIMEOUT_MS = 2000


def cached_at_scrape(key: str, compute: Callable[[], list]) -> list:
    """`compute()`, shared by every process and scraper for METRICS_CACHE_SECONDS."""
    seconds = settings.METRICS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    cache = caches["shared"]
    cache_key = f"metrics:{key}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, seconds)
    return value


def bounded_rows(queryset) -> list:
    """The rows of an aggregate queryset, cut off after SCRAPE_QUERY_TIMEOUT_MS on PostgreSQL."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {SCRAPE_QUERY_TIMEOUT_MS}")
        return list(queryset)


def _broker_url() -> str:
    return settings.CELERY_BROKER_URL


def queue_names() -> list[str]:
    """Every queue the project routes to: the default, the routed ones and any declared."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or ():
        names.add(getattr(queue, "name", queue))
    return sorted(names)


# Broker calls at scrape give up after this long: an unreachable broker is a missing gauge.
BROKER_TIMEOUT_SECONDS = 0.5
# kombu's Redis transport keeps each priority level of a queue in its own list.
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)

_redis_clients: dict[str, object] = {}


def _redis_depths(url: str, names: list[str]) -> dict[str, int]:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),  # the next scrape is the retry
        )
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.llen(f"{prefix}{name}")
        for step in _REDIS_PRIORITY_STEPS:
            pipe.llen(f"{prefix}{name}{_REDIS_PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    per_queue = 1 + len(_REDIS_PRIORITY_STEPS)
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


def _filesystem_depths(names: list[str]) -> dict[str, int]:
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    counts = dict.fromkeys(names, 0)
    # kombu names each message file "<time>_<uuid>.<queue>.msg".
    with os.scandir(folder) as entries:
        for entry in entries:
            parts = entry.name.rsplit(".", 2)
            if len(parts) == 3 and parts[2] == "msg" and parts[1] in counts:
                counts[parts[1]] += 1
    return counts


def _amqp_depths(url: str, names: list[str]) -> dict[str, int]:
    from kombu import Connection

    counts = {}
    with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
        for name in names:
            channel = conn.channel()
            try:
                counts[name] = channel.queue_declare(queue=name, passive=True).message_count
            except Exception:  # noqa: BLE001  a queue not declared yet closes the channel
                counts[name] = 0
            finally:
                channel.close()
    return counts


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue, read from the broker now."""
    url = _broker_url()
    names = queue_names()
    if url.startswith("redis"):
        return _redis_depths(url, names)
    if url.startswith("filesystem"):
        return _filesystem_depths(names)
    if url.startswith(("amqp", "pyamqp")):
        return _amqp_depths(url, names)
    return {}


def queue_depth_metrics() -> Iterable[Metric]:
    gauge = GaugeMetricFamily("taskhub_celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
    for name, depth in queue_depths().items():
        gauge.add_metric([name], depth)
    yield gauge


SCRAPE_ERRORS = Counter("taskhub_metrics_scrape_errors", "Scrape-time collectors that failed, by name.", ["collector"])


class _ScrapeCollector:
    """Runs the scrape-time collectors; one that fails is logged and left out of this scrape."""

    def __init__(self, collectors: Iterable[ScrapeCollector]):
        self.collectors = list(collectors)

    def collect(self):
        for collect in self.collectors:
            try:
                metrics = list(collect())
            except Exception:  # noqa: BLE001  one broken source must not blank the whole scrape
                logger.warning("metrics collector %s failed", getattr(collect, "__name__", collect), exc_info=True)
                SCRAPE_ERRORS.labels(getattr(collect, "__name__", "collector")).inc()
                continue
            yield from metrics



def _process_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _refusal(request) -> JsonResponse | None:
    """None when the request may read the metrics, else the JSON answer to give instead.

    With METRICS_TOKEN set: a matching `Authorization: Bearer` (compared in constant time),
    else 401 (none sent) or 403 (another). Unset: open under DEBUG (development), and a 404
    otherwise, so production never exposes them by accident.
    """
    token = settings.METRICS_TOKEN
    if not token:
        return None if settings.DEBUG else JsonResponse({"detail": "Not found."}, status=404)
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        response = JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        return JsonResponse({"detail": "This token may not read the metrics."}, status=403)
    return None


def make_metrics_view(collectors: Iterable[ScrapeCollector]):
    """The `/metrics` view: this process's (or all processes') counters, then the scrape-time gauges."""
    scrape = _ScrapeCollector([queue_depth_metrics, *collectors])

    def metrics_view(request):
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        registry = CollectorRegistry(auto_describe=False)
        registry.register(scrape)
        # Scrape-time gauges first: a collector failing there counts in this same scrape.
        gauges = generate_latest(registry)
        body = generate_latest(_process_registry()) + gauges
        return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

    return metrics_view
