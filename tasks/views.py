from collections.abc import Mapping

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.etag import ConditionalRequestMixin, has_preconditions
from core.exceptions import Forbidden, PreconditionFailed
from core.expand import ExpandMixin, expand_parameter
from core.lookups import IdOrExternalIdAutoSchema, IdOrExternalIdLookupMixin

from . import selectors, services
from .filters import TaskAssignmentFilter, TaskFilter
from .models import Task, TaskAssignment
from .permissions import TaskPermission, may_edit
from .serializers import (
    BULK_MAX_ITEMS,
    TASK_BULK_CREATE_REQUEST,
    TASK_EXPANSIONS,
    AssigneesInputSerializer,
    AssigneesResultSerializer,
    DelegateInputSerializer,
    HistoryItemSerializer,
    MarkDoneResultSerializer,
    TaskAssignmentSerializer,
    TaskBulkCreateItemSerializer,
    TaskBulkUpdateSerializer,
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

BULK_PARAMETERS = [
    EXPAND_PARAMETER,
    *(
        OpenApiParameter(
            header, OpenApiTypes.STR, OpenApiParameter.HEADER,
            description="Not supported on bulk requests: sending it answers 412 and changes nothing.",
        )
        for header in ("If-Match", "If-None-Match")
    ),
]
BULK_PRECONDITION = {
    412: OpenApiResponse(description="If-Match or If-None-Match was sent: not supported on bulk requests.")
}


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
    expanding_actions = {"list", "retrieve", "create", "update", "partial_update", "delegate", "bulk_create",
                         "bulk_update"}
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

    @extend_schema(
        request={"application/json": TASK_BULK_CREATE_REQUEST},
        responses={201: TaskSerializer(many=True), **BULK_PRECONDITION},
        parameters=BULK_PARAMETERS,
        filters=False,
        description=(
            "Create 1 to 100 tasks, each item as `POST /tasks/` takes it, all or none: a 400 lists the "
            "refused items under `errors` by their index (`{\"errors\": {\"3\": {\"title\": [...]}}}`). "
            "Answers the created tasks as the list shows them, in the order sent."
        ),
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def bulk_create(self, request):
        self._refuse_preconditions(request)
        items = TaskBulkCreateItemSerializer(data=request.data, many=True)
        items.is_valid(raise_exception=True)
        tasks = services.tasks_bulk_create(creator=request.user, items=items.validated_data)
        return self._tasks_answer(tasks, status.HTTP_201_CREATED)

    @extend_schema(
        request=TaskBulkUpdateSerializer,
        responses={
            200: TaskSerializer(many=True),
            403: OpenApiResponse(description="Some tasks are not the requester's to change: `ids` names them."),
            404: OpenApiResponse(description="Some ids name no task the requester sees: `ids` names them."),
            **BULK_PRECONDITION,
        },
        parameters=BULK_PARAMETERS,
        filters=False,
        description=(
            "Set the same status, priority, due_date and/or department on 1 to 100 tasks (ids or external_ids), "
            "all or none, with the rules of `PATCH /tasks/{id}/` (an assignee who does not manage a task may "
            "set only `status`). Answers the tasks as the list shows them, in the order of `ids`."
        ),
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def bulk_update(self, request):
        self._refuse_preconditions(request)
        data = TaskBulkUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids, changes = data.validated_data["ids"], data.validated_data["set"]
        tasks = selectors.tasks_named_by(user=request.user, ids=ids)
        refused = [value for value, task in zip(ids, tasks, strict=True) if not may_edit(request.user, task, changes)]
        if refused:
            raise Forbidden(
                "Only a task's creator, a manager of its department, the manager who assigned it, CEO or HR may "
                "change it (its assignees only the status); no task was changed.",
                extra={"ids": [value if isinstance(value, int) else str(value) for value in refused]},
            )
        services.tasks_bulk_update(tasks=tasks, by=request.user, **changes)
        return self._tasks_answer(tasks)

    def throttle_cost(self, request) -> int:
        """What the request counts for against THROTTLE_USER_RATE (core.throttling): a bulk
        request one per task it names (at most BULK_MAX_ITEMS), anything else one."""
        if self.action not in ("bulk_create", "bulk_update"):
            return 1
        data = request.data
        named = data if self.action == "bulk_create" else data.get("ids") if isinstance(data, Mapping) else None
        return min(len(named), BULK_MAX_ITEMS) if isinstance(named, list) else 1

    @staticmethod
    def _refuse_preconditions(request):
        # A bulk request has no representation to compare a tag with, and honouring a tag per task
        # is not offered: refused rather than ignored, so a client counting on it learns so.
        if has_preconditions(request):
            raise PreconditionFailed(
                "If-Match and If-None-Match are not supported on bulk requests; nothing was changed. "
                "Change tasks one by one to make each change conditional."
            )

    def _tasks_answer(self, tasks, status_code=status.HTTP_200_OK):
        tasks = selectors.tasks_for_response(task_ids=[task.pk for task in tasks], expand=self.expand)
        data = TaskSerializer(tasks, many=True, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

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
