from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import NotificationPreferencesView, NotificationViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")

# Before the router's routes, so `preferences` is never read as a notification id.
urlpatterns = [
    path("notifications/preferences/", NotificationPreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
