from django.contrib import admin
from django.utils import timezone

from .models import Task, TaskAssignment, TaskStatusHistory


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


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "priority", "department", "creator", "due_date", "deleted_at"]
    list_filter = ["status", "priority", "department", DeletedFilter, "is_delegated", "completed_late"]
    search_fields = ["title", "description", "external_id", "creator__email"]
    list_select_related = ["department", "creator"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["creator", "assigned_by", "assignees", "department"]
    readonly_fields = ["external_id", "completed_at", "created_at", "updated_at"]
    inlines = [StatusHistoryInline, AssignmentInline]
    actions = ["restore"]

    def get_queryset(self, request):
        # The admin is where soft-deleted tasks stay visible (and can be restored).
        return Task.all_objects.select_related("department", "creator")

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
