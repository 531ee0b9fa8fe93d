"""Celery's routine lines go to DEBUG, so an idle system logs nothing at INFO.

Attached (config/settings.py LOGGING) to Celery's loggers for: the worker's "received" line
(a job logs one line at INFO, its "succeeded"; failures, retries and warnings are untouched),
beat's "Sending due task" for the periodic entries of config/beat.py, and the "succeeded"
line of such an entry when it found nothing to do (returned 0, None or an empty value).
With DEBUG enabled the lines are kept, relabelled DEBUG.
"""

import logging

# How Celery prints a return value that means "nothing done" (celery.app.trace, safe_repr).
NOTHING_DONE = frozenset({"0", "None", "False", "{}", "[]", "()", "''"})


class RoutineCeleryLines(logging.Filter):
    def __init__(self, tasks=()):
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self.is_routine(record):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True

    def is_routine(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "celery.worker.strategy":
            return True
        if record.name == "celery.beat":
            return record.msg.startswith("Scheduler: Sending due task") and len(args) == 2 and args[1] in self.tasks
        if record.name == "celery.app.trace" and isinstance(args, dict) and "return_value" in args:
            return args.get("name") in self.tasks and str(args["return_value"]) in NOTHING_DONE
        return False
