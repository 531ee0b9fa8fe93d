from django.contrib import admin, messages

from core.exceptions import ApplicationError

from . import services
from .models import TaskExecution, TaskSchedule


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task_name",
        "user",
        "status",
        "created_at",
        "scheduled_at",
        "started_at",
        "completed_at",
    ]
    list_filter = ["status", "task_name", "created_at"]
    search_fields = ["=id", "=celery_task_id", "task_name", "user__email", "idempotency_key"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["cancel_executions"]
    # The record mirrors what happened on the workers; editing it by hand would only lie.
    readonly_fields = [field.name for field in TaskExecution._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected scheduled/pending executions", permissions=["change"])
    def cancel_executions(self, request, queryset):
        cancelled = refused = 0
        for execution in queryset:
            try:
                services.execution_cancel(execution=execution)
                cancelled += 1
            except ApplicationError:
                refused += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} execution(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{refused} execution(s) had already started or finished.", messages.WARNING)


@admin.register(TaskSchedule)
class TaskScheduleAdmin(admin.ModelAdmin):
    list_display = ["id", "task_name", "user", "periodic_task", "created_at"]
    list_filter = ["task_name"]
    search_fields = ["=id", "task_name", "user__email"]
    list_select_related = ["user", "periodic_task"]
    readonly_fields = ["id", "user", "task_name", "periodic_task", "created_at"]
