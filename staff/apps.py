from django.apps import AppConfig

# The module, not the class: a second AppConfig marked default in this namespace would be ambiguous.
from django.contrib.admin import apps as admin_apps


class StaffConfig(AppConfig):
    """The staff's view: the admin index dashboard and the stuck list (templates, static, fixes)."""

    default = True
    name = "staff"
    verbose_name = "Staff"


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the dashboard's site as the default `admin.site`.

    Listed in INSTALLED_APPS in place of "django.contrib.admin": every app's admin.py still
    registers on `admin.site`, which is then a StaffAdminSite.
    """

    default = False
    default_site = "staff.sites.StaffAdminSite"
