from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.etag import ConditionalRequestMixin

from . import selectors, services
from .filters import CommentFilter
from .models import Comment
from .permissions import IsCommentAuthorOrReadOnly
from .serializers import CommentSerializer, CommentUpdateSerializer, TaskCommentCreateSerializer


class CommentViewSet(ConditionalRequestMixin, viewsets.ModelViewSet):
    """Comments on the live tasks the requester can see.

    Anyone who can see a task may comment on it. The spec names the creator, the editors
    and the assignees; everyone else who sees a task (whoever assigned it, another manager
    of its department) is involved in it, and reading a discussion one cannot join helps
    nobody. Only the author edits or deletes a comment (403 for others who see it).
    """

    permission_classes = [IsAuthenticated, IsCommentAuthorOrReadOnly]
    filterset_class = CommentFilter
    search_fields = ["content"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return selectors.comments_visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return CommentUpdateSerializer
        return CommentSerializer

    def perform_create(self, serializer):
        comment = services.comment_create(
            task=serializer.validated_data["task"],
            author=self.request.user,
            content=serializer.validated_data["content"],
        )
        serializer.instance = self.get_queryset().get(pk=comment.pk)

    def perform_update(self, serializer):
        comment = services.comment_update(
            comment=serializer.instance, content=serializer.validated_data.get("content", serializer.instance.content)
        )
        serializer.instance = self.get_queryset().get(pk=comment.pk)

    def perform_destroy(self, instance):
        services.comment_delete(comment=instance)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("task_pk", OpenApiTypes.INT, OpenApiParameter.PATH)]),
    create=extend_schema(
        parameters=[OpenApiParameter("task_pk", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=TaskCommentCreateSerializer,
        responses={201: CommentSerializer},
    ),
)
class TaskCommentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The comments of one task, newest first; a task the requester cannot see is a 404.

    Who may comment is as on /comments/: anyone who can see the task.
    """

    serializer_class = CommentSerializer
    filter_backends = []

    def get_task(self):
        if not hasattr(self, "_task"):
            self._task = selectors.task_visible_to(self.request.user, self.kwargs["task_pk"])
        if self._task is None:
            raise NotFound()
        return self._task

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return selectors.comments_of_task(self.get_task())

    def create(self, request, *args, **kwargs):
        task = self.get_task()
        data = TaskCommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(task=task, author=request.user, content=data.validated_data["content"])
        output = CommentSerializer(comment, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)
