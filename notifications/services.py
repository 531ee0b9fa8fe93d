"""Notification entry points called by the task services (bodies filled in by the notifications work)."""


def notify_task_created(*, task, actor):
    pass


def notify_task_updated(*, task, actor, changed_fields):
    pass


def notify_task_assigned(*, task, actor, users):
    pass


def notify_task_commented(*, comment):
    pass
