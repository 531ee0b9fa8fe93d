from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.long_poll import long_poll_slot
from core.parsers import JSONParser
from core.throttling import ScopedRateLimitThrottle

from . import selectors, services
from .filters import ExecutionFilter
from .models import TaskExecution, TaskSchedule
from .serializers import (
    MAX_WAIT_SECONDS,
    AvailableTaskSerializer,
    ExecuteResponseSerializer,
    ExecuteSerializer,
    ExecuteWaitSerializer,
    ExecutionSerializer,
    ExecutionWaitSerializer,
    ScheduleCreateSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
    StaffExecutionSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Repeat a request safely: the same key and body answer 200 with the original "
    "execution for 24 hours; the same key with another body answers 409. At most 255 characters (else 400).",
)


def _error(description: str) -> OpenApiResponse:
    """A documented error answer, in the shared `Error` shape (core.schema adds the component)."""
    return OpenApiResponse(response={"$ref": "#/components/schemas/Error"}, description=description)


RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)


WAIT_PARAMETER = OpenApiParameter(
    "wait",
    OpenApiTypes.FLOAT,
    OpenApiParameter.QUERY,
    description=f"Long-poll: hold the answer up to this many seconds (at most {MAX_WAIT_SECONDS}) "
    "until the execution is complete, instead of polling. A user may hold LONG_POLL_PER_USER (4) waits "
    "at once, and each server process a bounded number; past either the answer is 429 with `Retry-After`. "
    "A finished execution is answered at once and never refused.",
)


EXECUTE_WAIT_PARAMETER = OpenApiParameter(
    "wait",
    OpenApiTypes.FLOAT,
    OpenApiParameter.QUERY,
    description=f"Submit and wait: hold the answer up to this many seconds (more than 0, at most "
    f"{MAX_WAIT_SECONDS}); a run finished by then is answered 200 with the execution (as "
    "`GET executions/{id}/`), else the answer is as without `wait`. Counts against LONG_POLL_PER_USER (4) "
    "and this server process's share of threads; past either the answer is 429 with `Retry-After` and "
    "nothing is submitted.",
)


def execution_serializer_class(user):
    # Tracebacks show server paths and code: staff only.
    return StaffExecutionSerializer if getattr(user, "is_staff", False) else ExecutionSerializer


def wait_until_complete(request, *, fetch, execution_id, timeout: float) -> TaskExecution:
    """The `?wait=` long-poll of an execution's detail, under the long-poll caps.

    A slot is taken only if the run is unfinished at the first read (a finished run is
    answered at once, never refused).
    """
    return selectors.execution_wait_until_complete(
        fetch=fetch,
        execution_id=execution_id,
        timeout=timeout,
        before_waiting=lambda: long_poll_slot(request.user, seconds=timeout),
    )


class AvailableTasksView(APIView):
    @extend_schema(responses=AvailableTaskSerializer(many=True), summary="Tasks you may run")
    def get(self, request):
        entries = selectors.tasks_runnable_by(request.user)
        return Response(AvailableTaskSerializer(entries, many=True).data)


class ExecuteView(APIView):
    parser_classes = [JSONParser]
    # The per-user/per-key limit every view has, and the per-user cap on executions (one round trip).
    throttle_classes = [ScopedRateLimitThrottle]
    throttle_scope = "task_api_execute"

    @extend_schema(
        request=ExecuteSerializer,
        parameters=[IDEMPOTENCY_HEADER, EXECUTE_WAIT_PARAMETER, RETRY_AFTER_HEADER],
        responses={
            202: OpenApiResponse(
                ExecuteResponseSerializer,
                description="Submitted (or scheduled); with `wait`, not finished within it.",
            ),
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="ExecuteFinishedOrRepeated",
                    serializers=[ExecutionSerializer, ExecuteResponseSerializer],
                    resource_type_field_name=None,
                ),
                description="With `wait`: the execution, finished within it (as `GET executions/{id}/`). "
                "Else a repeated Idempotency-Key: the execution it first created, as on submit.",
            ),
            400: _error(
                "args/kwargs do not fit the task, `scheduled_at` is past or more than TASK_API_MAX_SCHEDULE_DAYS "
                "ahead, the `Idempotency-Key` is longer than 255 characters, or `wait` is not a number "
                f"more than 0 and at most {MAX_WAIT_SECONDS} (field errors)."
            ),
            403: _error("A permission the task requires is missing, or its authorize check refuses this call."),
            404: _error("No registered task has this name."),
            409: _error("This Idempotency-Key was used with a different body."),
            413: _error("args and kwargs exceed TASK_API_MAX_PAYLOAD_BYTES."),
            429: _error(
                "With `wait`: too many open long-polls (the user's LONG_POLL_PER_USER, or this server process's "
                "share of threads); nothing was submitted. Retry after `Retry-After` seconds, or submit without `wait`."
            ),
        },
        summary="Run a registered task now or at scheduled_at (and wait for it with `wait`)",
    )
    def post(self, request):
        wait = ExecuteWaitSerializer(data=request.query_params)
        wait.is_valid(raise_exception=True)
        data = ExecuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        timeout = wait.validated_data.get("wait")
        if not timeout:
            return self.submitted(*self.submit(request, data.validated_data))
        # The slot is taken before submitting, so a 429 means nothing was run.
        with long_poll_slot(request.user, seconds=timeout):
            execution, created = selectors.execution_submit_and_wait(
                submit=lambda execution_id: self.submit(request, data.validated_data, execution_id=execution_id),
                fetch=lambda pk: selectors.executions_of(request.user).get(pk=pk),
                timeout=timeout,
            )
        if execution.is_complete:
            return Response(execution_serializer_class(request.user)(execution).data)
        return self.submitted(execution, created)

    def submit(self, request, validated_data, execution_id=None) -> tuple[TaskExecution, bool]:
        return services.execution_submit(
            user=request.user,
            idempotency_key=request.headers.get("Idempotency-Key") or None,
            execution_id=execution_id,
            **validated_data,
        )

    def submitted(self, execution: TaskExecution, created: bool) -> Response:
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
    """`traceback` is for staff; everyone sees `error` (the exception type and message)."""

    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter
    ordering_fields = ["created_at", "scheduled_at", "completed_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TaskExecution.objects.none()
        return selectors.executions_of(self.request.user)

    def get_serializer_class(self):
        return execution_serializer_class(getattr(self.request, "user", None))

    def filter_queryset(self, queryset):
        # Filters are for the list; the detail is what clients poll, so it skips their cost.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(
        parameters=[WAIT_PARAMETER, RETRY_AFTER_HEADER],
        responses={
            200: ExecutionSerializer,
            400: _error("`wait` is not a number from 0 to 30."),
            429: _error(
                "Too many open long-polls: the user's LONG_POLL_PER_USER, or this server process's share of "
                "threads; retry after `Retry-After` seconds (or poll without `wait`)."
            ),
        },
    )
    def retrieve(self, request, *args, **kwargs):
        wait = ExecutionWaitSerializer(data=request.query_params)
        wait.is_valid(raise_exception=True)
        timeout = wait.validated_data.get("wait", 0)
        if timeout:
            execution = wait_until_complete(
                request, fetch=self.get_object, execution_id=kwargs[self.lookup_field], timeout=timeout
            )
        else:
            execution = self.get_object()
        return Response(self.get_serializer(execution).data)

    @extend_schema(
        request=None,
        responses={
            200: ExecutionSerializer,
            409: _error("Only a SCHEDULED or PENDING execution can be cancelled."),
        },
        summary="Cancel a scheduled or pending run",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = services.execution_cancel(execution=self.get_object())
        return Response(self.get_serializer(execution).data)


@extend_schema_view(
    list=extend_schema(summary="Your recurring runs"),
    create=extend_schema(
        request=ScheduleCreateSerializer,
        responses={
            201: ScheduleSerializer,
            400: _error(
                "args/kwargs do not fit the task, not exactly one of interval/crontab, an interval outside "
                "10 s to 366 days, or an invalid crontab (field errors)."
            ),
            403: _error("A permission the task requires is missing, or its authorize check refuses this call."),
            404: _error("No registered task has this name."),
            409: _error("The user already has TASK_API_MAX_SCHEDULES_PER_USER enabled schedules."),
            413: _error("args and kwargs exceed TASK_API_MAX_PAYLOAD_BYTES."),
        },
    ),
    partial_update=extend_schema(
        request=ScheduleUpdateSerializer,
        responses={
            200: ScheduleSerializer,
            409: _error("Resuming would exceed TASK_API_MAX_SCHEDULES_PER_USER enabled schedules."),
        },
        summary="Pause or resume",
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
