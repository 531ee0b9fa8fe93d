from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_display import ADMIN_CSS, badge, compact_time, truncated

from .models import Task, TaskAssignee, TaskAssignment, TaskStatusHistory


class ReadOnlyAdminMixin:
    """Audit rows are written by the services only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusHistoryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TaskStatusHistory
    fields = ["created_at", "from_status", "to_status", "changed_by"]
    readonly_fields = fields
    extra = 0


class AssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TaskAssignment
    fk_name = "task"
    fields = ["created_at", "action", "assigned_to", "assigned_by"]
    readonly_fields = fields
    extra = 0


class AssigneeInline(admin.TabularInline):
    """The task's assignees. The relation has its own model (TaskAssignee), which the admin
    edits as rows rather than as a field of the task; the task columns are the database's."""

    model = TaskAssignee
    fields = ["user"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = "assignee"


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Soft-deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


STATUS_TONES = {
    Task.Status.TODO: "wait",
    Task.Status.IN_PROGRESS: "busy",
    Task.Status.DONE: "ok",
    Task.Status.FAILED: "bad",
}
PRIORITY_TONES = {
    Task.Priority.LOW: "off",
    Task.Priority.MEDIUM: "off",
    Task.Priority.HIGH: "wait",
    Task.Priority.CRITICAL: "bad",
}


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["task_title", "status_badge", "priority_badge", "department", "assignee_names", "due"]
    list_display_links = ["task_title"]
    list_filter = ["status", "priority", "department", DeletedFilter, "is_delegated", "completed_late"]
    search_fields = ["title", "description", "external_id", "creator__email"]
    list_select_related = ["department", "creator"]
    list_per_page = 50
    date_hierarchy = "due_date"
    autocomplete_fields = ["creator", "assigned_by", "department"]
    readonly_fields = ["external_id", "completed_at", "created_at", "updated_at"]
    inlines = [AssigneeInline, StatusHistoryInline, AssignmentInline]
    actions = ["restore"]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request):
        # The admin is where soft-deleted tasks stay visible (and can be restored).
        return Task.all_objects.select_related("department", "creator").prefetch_related("assignees")

    @admin.display(description="title", ordering="title")
    def task_title(self, obj):
        deleted = format_html(' {}', badge("deleted", "off")) if obj.deleted_at else ""
        return format_html("{}{}", truncated(obj.title, 60), deleted)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "off"))

    @admin.display(description="priority", ordering="priority_rank")
    def priority_badge(self, obj):
        return badge(obj.get_priority_display(), PRIORITY_TONES.get(obj.priority, "off"))

    @admin.display(description="assignees")
    def assignee_names(self, obj):
        # From the prefetch: one query for the whole page.
        people = sorted(obj.assignees.all(), key=lambda user: user.email)
        return format_html_join(", ", '<span title="{}">{}</span>', ((u.email, u.name or u.email) for u in people))

    @admin.display(description="due", ordering="due_date")
    def due(self, obj):
        if obj.due_date is None:
            return ""
        overdue = obj.status in Task.OPEN_STATUSES and obj.due_date < timezone.now()
        if overdue:
            return format_html('<span class="th-overdue" title="overdue">{}</span>', compact_time(obj.due_date))
        return compact_time(obj.due_date)

    @admin.action(description="Restore selected soft-deleted tasks")
    def restore(self, request, queryset):
        restored = queryset.filter(deleted_at__isnull=False).update(deleted_at=None, updated_at=timezone.now())
        self.message_user(request, f"Restored {restored} task(s).")


@admin.register(TaskStatusHistory)
class TaskStatusHistoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["task", "from_status", "to_status", "changed_by", "created_at"]
    list_filter = ["to_status", "created_at"]
    search_fields = ["task__title", "changed_by__email"]
    list_select_related = ["task", "changed_by"]


@admin.register(TaskAssignment)
class TaskAssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["task", "action", "assigned_to", "assigned_by", "created_at"]
    list_filter = ["action", "created_at"]
    search_fields = ["task__title", "assigned_to__email", "assigned_by__email"]
    list_select_related = ["task", "assigned_to", "assigned_by"]
