from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied

from . import services
from .forms import GuardedAdminAuthenticationForm
from .models import ApiKey, Department, User
from .permissions import account_change_refusal

# Failed admin logins count in (and are refused by) the same windows as the API login.
admin.site.login_form = GuardedAdminAuthenticationForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "role", "department", "is_active", "is_staff", "email_verified", "date_joined"]
    list_filter = ["role", "department", "is_active", "is_staff", "email_verified"]
    search_fields = ["email", "name", "external_id"]
    readonly_fields = ["external_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "email_verified", "password", "external_id"]}),
        ("Profile", {"fields": ["name", "role", "department"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "role", "department", "password1", "password2"]}),
    ]

    # The API's account rules hold here too: staff who are neither CEO nor superuser see the
    # accounts that hold power read-only and cannot hand out the CEO role or staff rights.
    def _may_change(self, request, obj):
        return obj is None or account_change_refusal(actor=request.user, target=obj, data={}) is None

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    def delete_queryset(self, request, queryset):
        if any(not self._may_change(request, user) for user in queryset):
            raise PermissionDenied
        super().delete_queryset(request, queryset)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "groups", "user_permissions"]
            if account_change_refusal(actor=request.user, target=None, data={"is_staff": True}):
                fields.append("is_staff")
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "role" and account_change_refusal(actor=request.user, target=None, data={"role": "ceo"}):
            field.choices = [choice for choice in field.choices if choice[0] != User.Role.CEO]
        return field

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_revoke_credentials(user=obj)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]
    search_fields = ["name", "manager__email"]
    autocomplete_fields = ["manager"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    list_filter = ["created_at", "expires_at"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["prefix", "hashed_key", "created_at", "last_used_at"]
    autocomplete_fields = ["user"]
