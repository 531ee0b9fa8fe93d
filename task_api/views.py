from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import selectors, services
from .filters import ExecutionFilter
from .models import TaskExecution, TaskSchedule
from .serializers import (
    MAX_WAIT_SECONDS,
    AvailableTaskSerializer,
    ExecuteResponseSerializer,
    ExecuteSerializer,
    ExecutionSerializer,
    ExecutionWaitSerializer,
    ScheduleCreateSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Repeat a request safely: the same key and body answer 200 with the original "
    "execution for 24 hours; the same key with another body answers 409.",
)


WAIT_PARAMETER = OpenApiParameter(
    "wait",
    OpenApiTypes.FLOAT,
    OpenApiParameter.QUERY,
    description=f"Long-poll: hold the answer up to this many seconds (at most {MAX_WAIT_SECONDS}) "
    "until the execution is complete, instead of polling.",
)


class AvailableTasksView(APIView):
    @extend_schema(responses=AvailableTaskSerializer(many=True), summary="Tasks you may run")
    def get(self, request):
        entries = selectors.tasks_runnable_by(request.user)
        return Response(AvailableTaskSerializer(entries, many=True).data)


class ExecuteView(APIView):
    parser_classes = [JSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "task_api_execute"

    @extend_schema(
        request=ExecuteSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: ExecuteResponseSerializer, 200: ExecuteResponseSerializer},
        summary="Run a registered task now or at scheduled_at",
    )
    def post(self, request):
        data = ExecuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution, created = services.execution_submit(
            user=request.user,
            idempotency_key=request.headers.get("Idempotency-Key") or None,
            **data.validated_data,
        )
        if not created:
            message = "Repeated request: this is the execution the Idempotency-Key first created."
        elif execution.status == TaskExecution.Status.SCHEDULED:
            message = f"Task scheduled for {execution.scheduled_at.isoformat()}."
        else:
            message = "Task submitted."
        body = {
            "execution_id": execution.pk,
            "celery_task_id": execution.celery_task_id,
            "status": execution.status,
            "message": message,
        }
        return Response(
            ExecuteResponseSerializer(body).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    list=extend_schema(summary="Your executions"),
    retrieve=extend_schema(summary="One of your executions"),
)
class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter
    search_fields = []
    ordering_fields = ["created_at", "scheduled_at", "completed_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TaskExecution.objects.none()
        return selectors.executions_of(self.request.user)

    def filter_queryset(self, queryset):
        # Filters are for the list; the detail is what clients poll, so it skips their cost.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(parameters=[WAIT_PARAMETER])
    def retrieve(self, request, *args, **kwargs):
        wait = ExecutionWaitSerializer(data=request.query_params)
        wait.is_valid(raise_exception=True)
        timeout = wait.validated_data.get("wait", 0)
        if timeout:
            execution = selectors.execution_wait_until_complete(
                fetch=self.get_object, execution_id=kwargs[self.lookup_field], timeout=timeout
            )
        else:
            execution = self.get_object()
        return Response(self.get_serializer(execution).data)

    @extend_schema(request=None, responses=ExecutionSerializer, summary="Cancel a scheduled or pending run")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = services.execution_cancel(execution=self.get_object())
        return Response(ExecutionSerializer(execution).data)


@extend_schema_view(
    list=extend_schema(summary="Your recurring runs"),
    create=extend_schema(request=ScheduleCreateSerializer, responses={201: ScheduleSerializer}),
    partial_update=extend_schema(
        request=ScheduleUpdateSerializer, responses=ScheduleSerializer, summary="Pause or resume"
    ),
)
class ScheduleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ScheduleSerializer
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TaskSchedule.objects.none()
        return selectors.schedules_of(self.request.user)

    def create(self, request, *args, **kwargs):
        data = ScheduleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_create(user=request.user, **data.validated_data)
        schedule = self.get_queryset().get(pk=schedule.pk)
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        schedule = self.get_object()
        data = ScheduleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_set_enabled(schedule=schedule, enabled=data.validated_data["enabled"])
        return Response(ScheduleSerializer(schedule).data)

    def perform_destroy(self, instance):
        services.schedule_delete(schedule=instance)
