from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.etag import ConditionalRequestMixin
from core.expand import ExpandMixin, expand_parameter
from core.lookups import ID_OR_EXTERNAL_ID_SCHEMA

from . import selectors, services
from .filters import CommentFilter
from .models import Comment
from .permissions import IsCommentAuthorOrReadOnly
from .serializers import COMMENT_EXPANSIONS, CommentSerializer, CommentUpdateSerializer, TaskCommentCreateSerializer

EXPAND_AUTHOR = expand_parameter(COMMENT_EXPANSIONS, "`author` becomes {id, external_id, name, email, role}.")
TASK_PK = OpenApiParameter(
    "task_pk", ID_OR_EXTERNAL_ID_SCHEMA, OpenApiParameter.PATH, description="The task's id or external_id (UUID)."
)


class ExpandAuthorMixin(ExpandMixin):
    expansions = COMMENT_EXPANSIONS
    expanding_actions = {"list", "retrieve", "create", "update", "partial_update"}


@extend_schema_view(
    list=extend_schema(parameters=[EXPAND_AUTHOR]),
    retrieve=extend_schema(parameters=[EXPAND_AUTHOR]),
    create=extend_schema(parameters=[EXPAND_AUTHOR]),
    update=extend_schema(parameters=[EXPAND_AUTHOR]),
    partial_update=extend_schema(parameters=[EXPAND_AUTHOR]),
)
class CommentViewSet(ExpandAuthorMixin, ConditionalRequestMixin, viewsets.ModelViewSet):
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
        return selectors.comments_visible_to(self.request.user, with_authors="author" in self.expand)

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
    list=extend_schema(parameters=[TASK_PK, EXPAND_AUTHOR]),
    create=extend_schema(
        parameters=[TASK_PK, EXPAND_AUTHOR],
        request=TaskCommentCreateSerializer,
        responses={201: CommentSerializer},
    ),
)
class TaskCommentViewSet(ExpandAuthorMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The comments of one task (by its id or external_id), newest first; a task the requester
    cannot see is a 404.

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
        return selectors.comments_of_task(self.get_task(), with_authors="author" in self.expand)

    def create(self, request, *args, **kwargs):
        task = self.get_task()
        data = TaskCommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(task=task, author=request.user, content=data.validated_data["content"])
        output = CommentSerializer(comment, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)
