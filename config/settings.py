"""Taskhub settings: every value comes from the environment (12-factor).

With no environment at all the project runs on SQLite, a filesystem Celery broker under
``var/`` and a local-memory cache, so a fresh clone works without any server.
"""

from datetime import timedelta
from pathlib import Path

import environ

from config.beat import BEAT_SCHEDULE  # noqa: F401  every periodic entry, commented there

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not IS_PRODUCTION)
# Production refuses to start without a real secret; development gets a fixed dummy one.
SECRET_KEY = (
    env.str("DJANGO_SECRET_KEY")
    if IS_PRODUCTION
    else env.str("DJANGO_SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef")
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
APP_VERSION = env.str("APP_VERSION", default="1.0.0")

INSTALLED_APPS = [
    # django.contrib.admin whose default site opens on the staff dashboard (staff/sites.py).
    "staff.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles so runserver serves static files the same way gunicorn does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "core",
    "accounts",
    "tasks",
    "comments",
    "attachments",
    "notifications",
    "webhooks",
    "live",
    "task_api",
    # The staff's view: the admin dashboard over tasks, task_api and notifications.
    "staff",
    # Last: the demo seeding imports every app above.
    "demo",
]

MIDDLEWARE = [
    # Outermost: every response, errors included, carries X-Request-ID and is counted.
    "core.middleware.RequestIdMiddleware",
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.JsonErrorsMiddleware",
    # X-RateLimit-* of the request's count (core.throttling.RateLimitThrottle), 429s included.
    "core.throttling.RateLimitHeadersMiddleware",
    # Oversized bodies and NUL characters refused before any work; then an /api/ path without
    # its trailing slash is served as with it (before CommonMiddleware would redirect it).
    "core.middleware.RequestBoundsMiddleware",
    "core.middleware.ApiTrailingSlashMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one SQLite file: WAL lets readers run beside the writer,
    # IMMEDIATE transactions and a timeout make writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Persistent connections, checked before reuse so a restarted PostgreSQL is survived.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache, sessions, broker -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="taskhub"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Counters every web process must agree on (throttles, open long-polls): the Redis cache when
# there is one, else files under var/ that all processes of this machine share (locmem would
# give each gunicorn worker its own count, so a limit could be walked around).
CACHES["shared"] = (
    {**CACHES["default"], "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + ":shared"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": env.str("SHARED_CACHE_DIR", default=str(VAR_DIR / "cache")),
    }
)

# A host name the filesystem transport ignores, so kombu does not warn of a missing one at every connection.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/broker/.
    _broker_dir = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith("redis"):
    # Unacked messages come back after this long; longer than any task's hard time limit.
    # The key prefix lets several deployments (or test runs) share one Redis safely.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "global_keyprefix": env.str("CELERY_BROKER_KEY_PREFIX", default=""),
    }
# Fail fast instead of hanging a web request when the broker is unreachable.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "core.results:DatabaseBackend"  # django-db, storing with one upsert
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# A task is acknowledged after it ran, and re-queued if its worker dies mid-run.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# No STARTED row per task in the result backend: task-API executions keep STARTED and
# started_at in their own row, and the write cost every task a database round trip.
CELERY_TASK_TRACK_STARTED = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": "emails"},
    # Webhook sends wait on other people's servers (up to 10 s each): never behind API jobs.
    "webhooks.tasks.*": {"queue": "webhooks"},
    "accounts.tasks.send_password_reset_email": {"queue": "emails"},
}
# Celery's Django fixup otherwise closes the database connection before and after every
# task, so each task connects anew. Workers reuse it instead (closing it every N tasks), and
# config/celery.py checks it at each task's start and end as Django does around a request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# django-celery-beat's DatabaseScheduler, writing an entry's run count and time with one UPDATE
# (task_api/scheduler.py; config/scheduler.py adds the heartbeat file below) ...
CELERY_BEAT_SCHEDULER = "config.scheduler:BeatScheduler"
# ... after every message beat sends (the library's default: every 3 minutes), so schedules
# report `last_run_at`/`total_run_count` as they fire and a killed beat loses none.
CELERY_BEAT_SYNC_EVERY = 1
# Touched by beat at every tick (at least every 5 s) when set: the container health check of
# beat reads its age (docker-compose.yml).
BEAT_HEARTBEAT_FILE = env.str("BEAT_HEARTBEAT_FILE", default="")

# Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# ModelBackend with each user's permission set cached between requests (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedPermissionsBackend"]
# Only with a cache all processes share (Redis): a per-process cache could not be told of a change.
PERMISSIONS_CACHE_SECONDS = env.int("PERMISSIONS_CACHE_SECONDS", default=300 if REDIS_URL else 0)
# Token/JWT/API-key -> user lookups cached between requests (accounts/auth_cache.py); same rule.
AUTH_CACHE_SECONDS = env.int("AUTH_CACHE_SECONDS", default=60 if REDIS_URL else 0)
# How long an emailed password-reset link works (Django's reset tokens read the timeout).
PASSWORD_RESET_HOURS = env.int("PASSWORD_RESET_HOURS", default=2)
PASSWORD_RESET_TIMEOUT = PASSWORD_RESET_HOURS * 3600
EMAIL_VERIFICATION_HOURS = env.int("EMAIL_VERIFICATION_HOURS", default=72)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "DJANGO_PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)

# How many proxies of ours append to X-Forwarded-For; the client IP every throttle and login
# guard uses is the address the outermost of them saw (0: the socket address; the header is
# then ignored, as anyone can send it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Past this many matching rows a page may answer an estimated `count` (`count_exact: false`)
# on PostgreSQL: an exact count of a million rows costs more than the page (core/pagination.py).
EXACT_COUNT_LIMIT = env.int("EXACT_COUNT_LIMIT", default=10_000)
# On a table of at least this many rows, a list narrowed by nothing but its filters (what a CEO,
# HR or staff see) asks the planner before counting, and answers an estimate of at least this
# many rows and ten times EXACT_COUNT_LIMIT without counting (0: always count first).
COUNT_ESTIMATE_FIRST_ROWS = env.int("COUNT_ESTIMATE_FIRST_ROWS", default=100_000)

REST_FRAMEWORK = {
    # The API-key class runs first so a key in the query string is refused whatever else
    # the request carries.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.CachedJWTAuthentication",
        "accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    # DRF's parsers, refusing too deeply nested JSON and NUL characters (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "core.parsers.FormParser",
        "core.parsers.MultiPartParser",
    ],
    # Matches core.throttling.client_ip, for any stock DRF throttle that identifies by address.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # Every authenticated request: per user, or per API key for a key's requests (SPEC §10).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.RateLimitThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER_RATE", default="1200/min"),
        "api_key": env.str("THROTTLE_KEY_RATE", default="600/min"),
        "auth": env.str("THROTTLE_AUTH_RATE", default="10/min"),
        # Successful registrations per client IP (failures count against "auth").
        "register": env.str("THROTTLE_REGISTER_RATE", default="5/hour"),
        # Reset emails requested per address (from any IP); per client IP 5x that.
        "password_reset": env.str("THROTTLE_PASSWORD_RESET_RATE", default="5/hour"),
        "task_api_execute": env.str("THROTTLE_EXECUTE_RATE", default="600/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Taskhub API",
    "DESCRIPTION": "Task management with roles and departments, and permissioned Celery job execution.",
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Task and execution both have a `status`; name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "tasks.models.Task.Status",
        "TaskExecutionStatusEnum": "task_api.models.TaskExecution.Status",
    },
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
}

# Mail --------------------------------------------------------------------------------
# Console-style by default: one INFO line per email (to, subject), the message at DEBUG (core/mail.py).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="core.mail.ConsoleEmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Taskhub <noreply@taskhub.local>")
# Base of the links in emails; unset, the address `make run` serves on (TASKHUB_PORT).
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('TASKHUB_PORT', default=8000)}")

# Files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise finds files in the apps directly, so no collectstatic step is needed to serve
# the admin and the API docs under gunicorn.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    # Attachments go to S3 (django-storages reads AWS_* settings from the environment).
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Uploads past this size are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
# JSON bodies nested deeper are a 400: no serializer needs more, and deeper input only costs
# recursion (Python's limit is reached near 1,000 levels).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)

# Domain ------------------------------------------------------------------------------
TASK_REMINDER_BEFORE = timedelta(hours=env.int("TASK_REMINDER_HOURS", default=24))
# Outbox: an email whose send task never reached the broker is queued again by the sweeper
# after this many seconds; one queued but still pending after REQUEUE_AFTER was lost (longer
# than a retry delay of 300 s, so retries in flight are left alone).
NOTIFICATION_EMAIL_SWEEP_AFTER = env.int("NOTIFICATION_EMAIL_SWEEP_AFTER", default=60)
NOTIFICATION_EMAIL_REQUEUE_AFTER = env.int("NOTIFICATION_EMAIL_REQUEUE_AFTER", default=1800)
# An email left `sending` longer than this was claimed by a worker that died mid-send (every
# run ends within the hard time limit): the sweeper queues it again.
NOTIFICATION_EMAIL_CLAIM_TIMEOUT = env.int(
    "NOTIFICATION_EMAIL_CLAIM_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60
)
TASK_API_MAX_PAYLOAD_BYTES = env.int("TASK_API_MAX_PAYLOAD_BYTES", default=64 * 1024)
# A PENDING execution whose message left this long ago without a worker picking it up is
# sent again (the worker-side claim makes a duplicate harmless): covers messages lost with
# a broker restart or stuck unacked on a killed worker.
TASK_API_REDISPATCH_AFTER = timedelta(seconds=env.int("TASK_API_REDISPATCH_SECONDS", default=300))
# A run still STARTED this long past its hard time limit lost its worker (kill -9, OOM): the
# dispatcher ends it FAILURE. The margin covers clock skew and a slow final write.
TASK_API_LOST_RUN_GRACE = timedelta(seconds=env.int("TASK_API_LOST_RUN_GRACE_SECONDS", default=60))
# Bounds on what one user can park in the database and in beat.
TASK_API_MAX_SCHEDULE_DAYS = env.int("TASK_API_MAX_SCHEDULE_DAYS", default=366)
TASK_API_MAX_SCHEDULES_PER_USER = env.int("TASK_API_MAX_SCHEDULES_PER_USER", default=20)
# Webhooks (SPEC §10). Off only in development and tests: the sender refuses URLs whose host
# resolves to a private, loopback, link-local or otherwise non-public address (SSRF).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_MAX_PER_USER = env.int("WEBHOOK_MAX_PER_USER", default=20)
# Seconds before each retry of a failed attempt (plus up to 10% jitter); past the last, `failed`.
WEBHOOK_RETRY_DELAYS = env.list("WEBHOOK_RETRY_DELAYS", cast=int, default=[60, 300, 1800, 7200, 21600])
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# Deliveries failed in a row that disable a webhook (its owner is notified).
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=50)
# A pending delivery this many seconds past due was not picked up (lost message, broker
# outage): the sweeper queues it again. A claim older than the timeout was left by a dead worker.
WEBHOOK_SWEEP_AFTER = env.int("WEBHOOK_SWEEP_AFTER", default=30)
WEBHOOK_CLAIM_TIMEOUT = env.int("WEBHOOK_CLAIM_TIMEOUT", default=120)
# The delivery log keeps finished deliveries this long (a daily job deletes older ones).
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
# How long the shared cache may keep "which users have an active webhook for which event", so
# a write nobody's webhook listens to costs no query. Off without Redis (per-process caches
# could not be told when a webhook is created elsewhere).
WEBHOOK_LISTENERS_CACHE_SECONDS = env.int("WEBHOOK_LISTENERS_CACHE_SECONDS", default=300 if REDIS_URL else 0)
# Long-polls hold a web thread each (core/long_poll.py): at most this many per user across
# all processes, and at most this share of each process's threads (the rest serve others).
LONG_POLL_PER_USER = env.int("LONG_POLL_PER_USER", default=4)
LONG_POLL_PROCESS_SHARE = env.float("LONG_POLL_PROCESS_SHARE", default=0.5)
# The same variable config/gunicorn.conf.py reads: threads per web process.
GUNICORN_THREADS = env.int("GUNICORN_THREADS", default=8)
# Live events (SPEC §10, live/): the event log keeps this many seconds (never under an hour,
# the replay SPEC promises); each stream ends after LIVE_STREAM_SECONDS so a gunicorn thread
# is lent, not given (the client reconnects with Last-Event-ID after LIVE_RETRY_MS).
LIVE_EVENTS_RETENTION = env.int("LIVE_EVENTS_RETENTION", default=2 * 3600)
LIVE_STREAM_SECONDS = env.float("LIVE_STREAM_SECONDS", default=50)
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=15)
# Without Redis (or while its subscription is down) streams re-read the log this often.
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=1)
LIVE_RETRY_MS = env.int("LIVE_RETRY_MS", default=2000)
# Events per read of one stream (a replay after a long disconnection comes in such pages).
LIVE_BATCH_SIZE = env.int("LIVE_BATCH_SIZE", default=200)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Web, worker and beat log the same way (config/celery.py applies this dict in workers and
# beat): "text" lines, or "json" for one object per line (timestamp, level, logger, message,
# request_id, exc_info); every line carries the id of the request (or task) it belongs to.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.logging.RequestIdFilter"},
        # Celery's per-poll lines ("received", beat's sends, idle periodic ticks) at DEBUG.
        "routine_celery_lines": {
            "()": "core.routine_logs.RoutineCeleryLines",
            "tasks": [entry.task for entry in BEAT_SCHEDULE],
        },
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        name: {"filters": ["routine_celery_lines"]}
        for name in ("celery.worker.strategy", "celery.beat", "celery.app.trace")
    },
}

# /metrics (Prometheus): bearers of this token may read it; unset, it is open under DEBUG
# and 404 otherwise. Database gauges computed at scrape are shared this many seconds.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=10)

if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Health probes (docker compose, load balancers) call from inside over plain http.
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    STORAGES["staticfiles"] = {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
    }
