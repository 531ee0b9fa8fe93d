from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View

from core.exceptions import ApplicationError

from .stuck import SOURCES


class StuckFixView(View):
    """POST: apply one fix of the stuck list to one row, then back to the dashboard with the outcome."""

    http_method_names = ["post"]
    admin_site = None

    def post(self, request, source, fix, pk):
        stuck_source = SOURCES.get(source)
        chosen = stuck_source.fixes.get(fix) if stuck_source else None
        if chosen is None:
            raise Http404("No such fix.")
        if not request.user.has_perm(chosen.permission):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse(f"{self.admin_site.name}:index") + "#stuck")
        try:
            row = stuck_source.get(pk, timezone.now())
        except (ValueError, ValidationError):  # not an id of that table
            row = None
        if row is None:
            messages.info(request, "That row is no longer stuck; nothing was changed.")
            return back
        try:
            messages.success(request, chosen.apply(row, request.user))
        except (ApplicationError, PermissionDenied, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", None) or [str(exc)]))
        return back
