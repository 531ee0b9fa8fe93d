"""What `make run` logs at INFO: one line per email and per job, nothing for an idle poll."""

import logging
import os

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail

DISPATCHER = "task_api.tasks.dispatch_due_executions"


@pytest.fixture
def console_email(settings):
    settings.EMAIL_BACKEND = "core.mail.ConsoleEmailBackend"


def test_the_default_email_backend_is_the_console_style_one_of_core_mail():
    import config.settings

    assert config.settings.EMAIL_BACKEND == os.environ.get("EMAIL_BACKEND", "core.mail.ConsoleEmailBackend")


def test_an_email_is_one_info_line_with_recipients_and_subject_and_no_body(console_email, caplog):
    caplog.set_level(logging.INFO)

    sent = send_mail("Verify your address", "Secret link: http://x/verify?token=abc", None, ["a@example.com"])

    assert sent == 1
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("core.mail", "INFO", "Email to a@example.com: Verify your address")
    ]
    assert "token=abc" not in caplog.text


def test_the_whole_email_is_logged_at_debug_only(console_email, caplog):
    caplog.set_level(logging.DEBUG, logger="core.mail")
    message = EmailMultiAlternatives(
        "Hello", "Plain body", None, ["a@example.com", "b@example.com"], cc=["c@example.com"]
    )
    message.attach_alternative("<p>Html body</p>", "text/html")

    assert message.send() == 1

    info, debug = caplog.records
    assert info.levelname == "INFO"
    assert info.getMessage() == "Email to a@example.com, b@example.com, c@example.com: Hello"
    assert debug.levelname == "DEBUG" and "Plain body" in debug.getMessage() and "Html body" in debug.getMessage()


def test_an_email_without_recipients_is_not_sent_or_logged(console_email, caplog):
    caplog.set_level(logging.INFO)

    assert send_mail("Nobody", "body", None, []) == 0
    assert not caplog.records


def sending(task):
    return lambda log: log.info("Scheduler: Sending due task %s (%s)", "entry", task)


def log_success(task, return_value, level=logging.INFO):
    from celery.app.trace import LOG_SUCCESS

    context = {"id": "1", "name": task, "return_value": return_value, "runtime": 0.01, "args": "()", "kwargs": "{}"}
    logging.getLogger("celery.app.trace").log(level, LOG_SUCCESS, context)


@pytest.mark.parametrize(
    ("logger", "emit", "kept"),
    [
        # Beat sending a periodic entry of config/beat.py: routine.
        ("celery.beat", sending(DISPATCHER), False),
        # Beat firing a user's recurring schedule: worth a line.
        ("celery.beat", sending("task_api.tasks.run_scheduled"), True),
        ("celery.beat", lambda log: log.info("beat: Starting..."), True),
        # The worker's "received": the job's line is its outcome.
        ("celery.worker.strategy", lambda log: log.info("Task %(name)s received", {"name": "t"}), False),
        ("celery.worker.strategy", lambda log: log.warning("something odd"), True),
        # A periodic task that found nothing to do, and one that did something.
        ("celery.app.trace", lambda log: log_success(DISPATCHER, "0"), False),
        ("celery.app.trace", lambda log: log_success("tasks.tasks.expire_overdue_tasks_task", "0"), False),
        ("celery.app.trace", lambda log: log_success("celery.backend_cleanup", "None"), False),
        ("celery.app.trace", lambda log: log_success(DISPATCHER, "3"), True),
        ("celery.app.trace", lambda log: log_success("task_api.tasks.add", "0"), True),
        ("celery.app.trace", lambda log: log.error("Task %s raised unexpected: %r", DISPATCHER, ValueError()), True),
    ],
)
def test_routine_celery_lines_are_not_logged_at_info(logger, emit, kept, caplog):
    caplog.set_level(logging.INFO)

    emit(logging.getLogger(logger))

    assert bool(caplog.records) is kept, caplog.text


def test_routine_celery_lines_are_kept_at_debug_when_debug_is_on(caplog):
    caplog.set_level(logging.DEBUG, logger="celery.app.trace")

    log_success(DISPATCHER, "0")

    (record,) = caplog.records
    assert record.levelname == "DEBUG" and DISPATCHER in record.getMessage()
