from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html

from core.admin_display import (
    ADMIN_CSS,
    badge,
    compact_time,
    dotted_name,
    duration_text,
    progress_bar,
    short_id,
    truncated,
)
from core.exceptions import ApplicationError

from . import services
from .models import TaskExecution, TaskSchedule

Status = TaskExecution.Status
STATUS_TONES = {
    Status.SUCCESS: "ok",
    Status.FAILURE: "bad",
    Status.STARTED: "busy",
    Status.PROGRESS: "busy",
    Status.RETRY: "wait",
    Status.PENDING: "wait",
    Status.SCHEDULED: "off",
    Status.REVOKED: "off",
}


def execution_badge(status: str) -> str:
    return badge(Status(status).label if status in Status.values else status, STATUS_TONES.get(status, "off"))


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    list_display = ["short_id", "task", "owner", "status_badge", "run_progress", "run_time", "created"]
    list_display_links = ["short_id"]
    list_filter = ["status", "task_name", "created_at"]
    search_fields = ["=id", "=celery_task_id", "task_name", "user__email", "idempotency_key"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_per_page = 50
    actions = ["cancel_executions", "rerun_executions", "mark_failed"]
    # The record mirrors what happened on the workers; editing it by hand would only lie.
    readonly_fields = [field.name for field in TaskExecution._meta.fields] + ["reruns_list"]

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request):
        return False

    @admin.display(description="id", ordering="id")
    def short_id(self, obj):
        marker = format_html(' <span title="re-run of {}">↻</span>', obj.rerun_of_id) if obj.rerun_of_id else ""
        return format_html("{}{}", short_id(obj.pk), marker)

    @admin.display(description="task", ordering="task_name")
    def task(self, obj):
        return dotted_name(obj.task_name)

    @admin.display(description="user", ordering="user__email")
    def owner(self, obj):
        return truncated(obj.user.email, 28)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return execution_badge(obj.status)

    @admin.display(description="progress")
    def run_progress(self, obj):
        if obj.status not in TaskExecution.RUNNING:
            return ""
        return progress_bar((obj.progress or {}).get("percent", 0))

    @admin.display(description="duration")
    def run_time(self, obj):
        return duration_text(obj.duration)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)

    @admin.display(description="re-runs")
    def reruns_list(self, obj):
        reruns = list(obj.reruns.order_by("created_at").values_list("pk", "status"))
        if not reruns:
            return "—"
        return format_html(
            " ".join(["{}"] * len(reruns)),
            *[
                format_html(
                    '<a href="{}">{}</a> {}',
                    reverse("admin:task_api_taskexecution_change", args=[pk]),
                    short_id(pk),
                    execution_badge(status),
                )
                for pk, status in reruns
            ],
        )

    @admin.action(description="Cancel selected scheduled/pending executions", permissions=["change"])
    def cancel_executions(self, request, queryset):
        done, refused = _each(queryset, lambda execution: services.execution_cancel(execution=execution))
        self._report(
            request, done, refused, "Cancelled {} execution(s).", "{} execution(s) had already started or finished."
        )

    @admin.action(description="Re-run selected executions (same task, arguments and owner)", permissions=["change"])
    def rerun_executions(self, request, queryset):
        done, refused = _each(queryset, lambda execution: services.execution_rerun(execution=execution))
        self._report(request, done, refused, "Re-ran {} execution(s).", "{} execution(s) could not be re-run: {}")

    @admin.action(description="Mark selected unfinished executions failed", permissions=["change"])
    def mark_failed(self, request, queryset):
        done, refused = _each(
            queryset, lambda execution: services.execution_mark_failed(execution=execution, by=request.user)
        )
        self._report(request, done, refused, "Marked {} execution(s) failed.", "{} execution(s) had already finished.")

    def _report(self, request, done, refused, done_text, refused_text):
        if done:
            self.message_user(request, done_text.format(done), messages.SUCCESS)
        if refused:
            reasons = "; ".join(sorted(set(refused)))
            self.message_user(request, refused_text.format(len(refused), reasons), messages.WARNING)


def _each(queryset, service) -> tuple[int, list[str]]:
    """Run `service` on each execution; how many succeeded and why the others were refused."""
    done, refused = 0, []
    for execution in queryset.select_related("user"):
        try:
            service(execution)
            done += 1
        except (ApplicationError, PermissionDenied, ValidationError) as exc:
            refused.append("; ".join(getattr(exc, "messages", None) or [str(exc)]))
    return done, refused


@admin.register(TaskSchedule)
class TaskScheduleAdmin(admin.ModelAdmin):
    list_display = ["id", "task_name", "user", "periodic_task", "created_at"]
    list_filter = ["task_name"]
    search_fields = ["=id", "task_name", "user__email"]
    list_select_related = ["user", "periodic_task"]
    readonly_fields = ["id", "user", "task_name", "periodic_task", "created_at"]
