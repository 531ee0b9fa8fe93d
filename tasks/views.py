from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.etag import ConditionalRequestMixin
from core.expand import ExpandMixin, expand_parameter
from core.lookups import IdOrExternalIdAutoSchema, IdOrExternalIdLookupMixin

from . import selectors, services
from .filters import TaskAssignmentFilter, TaskFilter
from .models import Task, TaskAssignment
from .permissions import TaskPermission
from .serializers import (
    TASK_EXPANSIONS,
    AssigneesInputSerializer,
    AssigneesResultSerializer,
    DelegateInputSerializer,
    HistoryItemSerializer,
    MarkDoneResultSerializer,
    TaskAssignmentSerializer,
    TaskDetailSerializer,
    TaskSerializer,
    TaskWriteSerializer,
    UnassignInputSerializer,
)

EXPAND_PARAMETER = expand_parameter(
    TASK_EXPANSIONS,
    "these relations become objects: users as {id, external_id, name, email, role}, the department as "
    "{id, name}; `author` is the author of each of the latest comments a detail answer carries.",
)


@extend_schema_view(
    list=extend_schema(parameters=[EXPAND_PARAMETER]),
    retrieve=extend_schema(parameters=[EXPAND_PARAMETER]),
    create=extend_schema(
        request=TaskWriteSerializer, responses={201: TaskDetailSerializer}, parameters=[EXPAND_PARAMETER]
    ),
    update=extend_schema(
        request=TaskWriteSerializer, responses={200: TaskDetailSerializer}, parameters=[EXPAND_PARAMETER]
    ),
    partial_update=extend_schema(
        request=TaskWriteSerializer, responses={200: TaskDetailSerializer}, parameters=[EXPAND_PARAMETER]
    ),
    destroy=extend_schema(description="Soft delete: the task leaves the API and stays in admin."),
)
class TaskViewSet(ExpandMixin, ConditionalRequestMixin, IdOrExternalIdLookupMixin, viewsets.ModelViewSet):
    """Tasks the requester can see, by id or external_id; see tasks.permissions for who may
    change what."""

    queryset = Task.objects.none()  # the model, for the schema; get_queryset scopes by user
    schema = IdOrExternalIdAutoSchema()
    expansions = TASK_EXPANSIONS
    # The actions that answer the task itself.
    expanding_actions = {"list", "retrieve", "create", "update", "partial_update", "delegate"}
    permission_classes = [IsAuthenticated, TaskPermission]
    # Ordering (it maps `priority` to the numeric rank) and search (tasks.selectors.task_search_q,
    # indexed on PostgreSQL) are part of TaskFilter.
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return selectors.task_list(user=user, expand=self.expand)
        if self.action == "retrieve":
            return selectors.task_detail(user=user, expand=self.expand)
        # Writes read the permission inputs only; the answer is fetched after the write.
        return selectors.tasks_visible_to(user).select_related("department")

    def get_serializer_class(self):
        if self.action == "list":
            return TaskSerializer
        if self.action in ("create", "update", "partial_update"):
            return TaskWriteSerializer
        return TaskDetailSerializer

    def filter_queryset(self, queryset):
        # List filters only: `?status=done` on a detail URL must not turn it into a 404.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        selectors.task_attach_assignee_ids(tasks=page or [], people="assignees" in self.expand)
        return page

    def retrieve(self, request, *args, **kwargs):
        task = self.get_object()
        selectors.task_attach_assignee_ids(tasks=[task], people="assignees" in self.expand)
        return Response(TaskDetailSerializer(task, context=self.get_serializer_context()).data)

    def _detail(self, task, status_code=status.HTTP_200_OK):
        task = selectors.task_for_response(task_id=task.pk, expand=self.expand)
        return Response(TaskDetailSerializer(task, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = TaskWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_create(creator=request.user, **data.validated_data)
        return self._detail(task, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        task = self.get_object()
        data = TaskWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        services.task_update(task=task, by=request.user, **data.validated_data)
        return self._detail(task)

    def perform_destroy(self, instance):
        services.task_delete(task=instance)

    @extend_schema(request=AssigneesInputSerializer, responses={200: AssigneesResultSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        return self._change_assignees(request, AssigneesInputSerializer, services.task_assign, "assigned")

    @extend_schema(request=UnassignInputSerializer, responses={200: AssigneesResultSerializer})
    @action(detail=True, methods=["post"])
    def unassign(self, request, pk=None):
        return self._change_assignees(request, UnassignInputSerializer, services.task_unassign, "unassigned")

    def _change_assignees(self, request, input_serializer, service, outcome):
        task = self.get_object()
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = service(task=task, assignees=data.validated_data["assignees"], by=request.user)
        return Response({"status": outcome, "assignees": ids})

    @extend_schema(
        request=DelegateInputSerializer, responses={200: TaskDetailSerializer}, parameters=[EXPAND_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    def delegate(self, request, pk=None):
        task = self.get_object()
        data = DelegateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_delegate(task=task, by=request.user, to=data.validated_data["to"])
        return self._detail(task)

    @extend_schema(request=None, responses={200: MarkDoneResultSerializer})
    @action(detail=True, methods=["post"])
    def mark_done(self, request, pk=None):
        task = services.task_mark_done(task=self.get_object(), by=request.user)
        return Response(MarkDoneResultSerializer(task).data)

    # A plain list, neither paginated nor filtered (the list's filters are not for it).
    @extend_schema(responses={200: HistoryItemSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, pk=None):
        # Plain dicts: status and assignment entries carry different keys (see the schema).
        return Response(selectors.task_history(task=self.get_object()))


class TaskAssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Assignment audit: CEO/HR all, managers their department, others rows naming them."""

    queryset = TaskAssignment.objects.none()  # the model, for the schema
    serializer_class = TaskAssignmentSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = TaskAssignmentFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.task_assignments_visible_to(self.request.user)
