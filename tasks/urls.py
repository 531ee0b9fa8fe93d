from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("tasks", views.TaskViewSet, basename="task")
router.register("task-assignments", views.TaskAssignmentViewSet, basename="task-assignment")

urlpatterns = router.urls
