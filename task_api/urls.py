from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("executions", views.ExecutionViewSet, basename="task-execution")
router.register("schedules", views.ScheduleViewSet, basename="task-schedule")

urlpatterns = [
    path("available/", views.AvailableTasksView.as_view(), name="task-api-available"),
    path("execute/", views.ExecuteView.as_view(), name="task-api-execute"),
    *router.urls,
]
