"""The project's settings plus the chaos bench's job and email ledger (used by bench/chaos.py).

Every process the bench starts (gunicorn, workers, beats) runs with these: `bench.chaos_app`
registers the `chaos.record_run` job (routed to its own `task_api` queue) and the email
backend that records each message it is handed in the `chaos_emails` table.
"""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.chaos_app"]  # noqa: F405
EMAIL_BACKEND = "bench.chaos_app.mail.LedgerEmailBackend"
# The task-API jobs get a worker of their own, as a deployment that scales queues apart does.
CELERY_TASK_ROUTES = {**CELERY_TASK_ROUTES, "chaos.*": {"queue": "task_api"}}  # noqa: F405
