"""Gunicorn settings shared by every way the web process starts (Dockerfile, docker-compose,
Procfile.dev, the benchmark): `gunicorn -c config/gunicorn.conf.py config.wsgi:application`.
"""

import os

wsgi_app = "config.wsgi:application"
# Threads, not sync workers: a `?wait=` long-poll holds one thread while it waits, where
# it would hold a whole sync worker process and queue every request behind it.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Longer than the longest long-poll (30 s), so a waiting request is never cut off.
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
