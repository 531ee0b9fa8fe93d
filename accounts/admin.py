from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import ApiKey, Department, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "role", "department", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "department", "is_active", "is_staff"]
    search_fields = ["email", "name", "external_id"]
    readonly_fields = ["external_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password", "external_id"]}),
        ("Profile", {"fields": ["name", "role", "department"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "role", "department", "password1", "password2"]}),
    ]


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
