from django.contrib import admin
from django.urls import path
from django.utils import timezone

from . import selectors, views


class StaffAdminSite(admin.AdminSite):
    """The stock admin, whose index opens on the dashboard, plus the stuck list's fix endpoint."""

    index_template = "staff/index.html"
    site_header = "Taskhub administration"
    site_title = "Taskhub admin"
    # The app list stays one click away (Home); the lists get the 275 px the sidebar took,
    # so they fit a 1366-px screen beside their filters.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        dashboard = selectors.dashboard(now=timezone.now())
        # Offer only the fixes this staff member may apply (the endpoint checks again).
        for group in dashboard["stuck"]:
            for row in group.rows:
                row.fixes = [(name, fix) for name, fix in row.fixes if request.user.has_perm(fix.permission)]
        return super().index(request, extra_context={"dashboard": dashboard, **(extra_context or {})})

    def get_urls(self):
        fix = self.admin_view(views.StuckFixView.as_view(admin_site=self))
        return [
            path("staff/fix/<slug:source>/<slug:fix>/<str:pk>/", fix, name="staff_fix"),
            *super().get_urls(),
        ]
