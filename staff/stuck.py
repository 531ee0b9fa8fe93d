"""What is stuck, and how staff fix it: one source per kind of thing that can stop moving.

Each source lists its stuck rows (bounded) and names the fixes a row offers; a fix calls the
same service the API or the admin action uses. Webhook deliveries do not exist yet: when
they do, a `StuckSource` for them (deliveries not sent past their retry window, with a
"deliver again" fix calling the delivery service) goes into `SOURCES` and the dashboard and
the fix endpoint pick it up with no other change.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse

from core.admin_display import duration_text
from notifications.models import Notification
from notifications.outbox import notification_email_requeue, outbox_stuck
from task_api.models import TaskExecution
from task_api.services import execution_mark_failed, execution_rerun

# Rows shown per source; the count says how many there are in all.
ROWS_SHOWN = 20


@dataclass(frozen=True)
class Fix:
    label: str
    # The Django permission the staff member needs ("app_label.codename").
    permission: str
    # apply(row object, staff user) -> a message for the staff member; raises the service's errors.
    apply: Callable[[object, object], str]


@dataclass
class StuckRow:
    pk: str
    title: str
    detail: str
    since: datetime | None
    admin_url: str
    fixes: list[tuple[str, Fix]] = field(default_factory=list)


@dataclass
class StuckGroup:
    key: str
    title: str
    count: int
    rows: list[StuckRow]


class StuckSource:
    key: str
    title: str
    fixes: dict[str, Fix]

    def queryset(self, now: datetime) -> QuerySet:
        raise NotImplementedError

    def row(self, obj, now: datetime) -> StuckRow:
        raise NotImplementedError

    def group(self, now: datetime) -> StuckGroup:
        """Two queries: the count and the first ROWS_SHOWN rows, oldest first."""
        queryset = self.queryset(now)
        count = queryset.count()
        rows = [self.row(obj, now) for obj in queryset[:ROWS_SHOWN]] if count else []
        return StuckGroup(key=self.key, title=self.title, count=count, rows=rows)

    def get(self, pk: str, now: datetime):
        """The row `pk` if it is still stuck (a fix must not act on a row that moved on)."""
        return self.queryset(now).filter(pk=pk).first()


def _resend(notification, user) -> str:
    count = notification_email_requeue(notifications=Notification.objects.filter(pk=notification.pk))
    return f"Email {notification.pk} queued again." if count else f"Email {notification.pk} was already sent."


class StuckEmails(StuckSource):
    key = "emails"
    title = "Emails not sent"
    fixes = {"resend": Fix("Resend", "notifications.change_notification", _resend)}

    def queryset(self, now):
        return outbox_stuck(now=now).select_related("recipient").order_by("created_at", "id")

    def row(self, obj, now):
        return StuckRow(
            pk=str(obj.pk),
            title=f"{obj.get_kind_display()} to {obj.recipient.email}",
            detail=f"{obj.get_email_status_display()}, {obj.email_attempts} attempt(s)"
            + (f": {obj.email_error}" if obj.email_error else ""),
            since=obj.email_claimed_at if obj.email_status == Notification.EmailStatus.SENDING else obj.created_at,
            admin_url=reverse("admin:notifications_emailoutbox_change", args=[obj.pk]),
            fixes=list(self.fixes.items()),
        )


def _mark_failed(execution, user) -> str:
    execution_mark_failed(execution=execution, by=user)
    return f"Execution {str(execution.pk)[:8]} marked failed."


def _rerun(execution, user) -> str:
    with transaction.atomic():
        if execution.status in TaskExecution.RUNNING:
            execution_mark_failed(execution=execution, by=user)
        rerun = execution_rerun(execution=execution)
    return f"Execution {str(execution.pk)[:8]} re-run as {str(rerun.pk)[:8]}."


class StuckExecutions(StuckSource):
    key = "executions"
    title = "Executions past their time limit or never picked up"
    fixes = {
        "mark-failed": Fix("Mark failed", "task_api.change_taskexecution", _mark_failed),
        "rerun": Fix("Re-run", "task_api.change_taskexecution", _rerun),
    }

    def queryset(self, now):
        waited_since = now - settings.TASK_API_REDISPATCH_AFTER
        # Still running past the hard time limit + grace (its worker is gone), or waiting for
        # a worker longer than the redispatch window since it was due.
        past_limit = Q(status__in=TaskExecution.RUNNING, run_deadline__lt=now)
        never_picked_up = Q(status=TaskExecution.Status.PENDING) & (
            Q(scheduled_at__isnull=True, created_at__lt=waited_since) | Q(scheduled_at__lt=waited_since)
        )
        return TaskExecution.objects.filter(past_limit | never_picked_up).select_related("user").order_by("created_at")

    def row(self, obj, now):
        if obj.status in TaskExecution.RUNNING:
            since = obj.started_at or obj.created_at
            detail = f"{obj.status} for {duration_text(now - since)}, past its time limit"
        else:
            since = obj.scheduled_at or obj.created_at
            detail = f"PENDING for {duration_text(now - since)}, no worker took it"
        return StuckRow(
            pk=str(obj.pk),
            title=f"{obj.task_name} for {obj.user.email}",
            detail=detail,
            since=since,
            admin_url=reverse("admin:task_api_taskexecution_change", args=[obj.pk]),
            fixes=list(self.fixes.items()),
        )


SOURCES: dict[str, StuckSource] = {source.key: source for source in (StuckEmails(), StuckExecutions())}


def stuck_groups(now: datetime) -> list[StuckGroup]:
    return [source.group(now) for source in SOURCES.values()]
