from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("comments", views.CommentViewSet, basename="comment")

# The tasks router owns tasks/<pk>/ and its actions; this suffix is not one of them.
task_comments = views.TaskCommentViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    # task_pk: the task's id or external_id; anything else is a 404 from the view.
    path("tasks/<str:task_pk>/comments/", task_comments, name="task-comments"),
    *router.urls,
]
