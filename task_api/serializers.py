from datetime import timedelta

from django_celery_beat.models import IntervalSchedule
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import SharedFieldsMixin

from .models import TaskExecution, TaskSchedule
from .services.schedules import interval_problem


def format_duration(value: timedelta | None) -> str | None:
    """H:MM:SS, hours not wrapped at a day."""
    if value is None:
        return None
    seconds = max(0, int(value.total_seconds()))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


MAX_WAIT_SECONDS = 30


# The serializers of the task API's busiest requests share their fields (SharedFieldsMixin):
# plain fields, whose validation reads neither context nor the serializer instance.
class ExecutionWaitSerializer(SharedFieldsMixin, serializers.Serializer):
    wait = serializers.FloatField(required=False, min_value=0, max_value=MAX_WAIT_SECONDS)


class ExecuteWaitSerializer(SharedFieldsMixin, serializers.Serializer):
    """`?wait=` on execute: more than 0 (0 would be a wait that never waits) and at most 30 seconds."""

    wait = serializers.FloatField(required=False, max_value=MAX_WAIT_SECONDS)

    def validate_wait(self, value):
        if value <= 0:
            raise serializers.ValidationError(f"Must be more than 0 and at most {MAX_WAIT_SECONDS} seconds.")
        return value


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["positional", "keyword"])
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)


class AvailableTaskSerializer(serializers.Serializer):
    task_name = serializers.CharField(source="name")
    description = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    parameters = serializers.SerializerMethodField()

    def get_parameters(self, entry) -> ParameterSerializer(many=True):
        return [parameter.as_dict() for parameter in entry.parameters]


def _must_be_list(value):
    if not isinstance(value, list):
        raise serializers.ValidationError("Must be a JSON list.")


def _must_be_object(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be a JSON object.")


class TaskCallSerializer(serializers.Serializer):
    task_name = serializers.CharField(max_length=200)
    args = serializers.JSONField(required=False, default=list, validators=[_must_be_list])
    kwargs = serializers.JSONField(required=False, default=dict, validators=[_must_be_object])


class ExecuteSerializer(SharedFieldsMixin, TaskCallSerializer):
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ExecuteResponseSerializer(SharedFieldsMixin, serializers.Serializer):
    execution_id = serializers.UUIDField()
    celery_task_id = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskExecution.Status.choices)
    message = serializers.CharField()


class ProgressSerializer(SharedFieldsMixin, serializers.Serializer):
    percent = serializers.IntegerField(min_value=0, max_value=100)
    message = serializers.CharField()


class ExecutionSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    """An execution as its (non-staff) owner sees it: `error` says why it failed, no traceback."""

    # A class attribute, not context: the fields are shared by every instance of the class.
    shows_traceback = False

    duration = serializers.SerializerMethodField()
    is_complete = serializers.BooleanField(read_only=True)
    progress = ProgressSerializer(read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()
    traceback = serializers.SerializerMethodField()

    class Meta:
        model = TaskExecution
        fields = [
            "id",
            "task_name",
            "celery_task_id",
            "status",
            "result",
            "args",
            "kwargs",
            "created_at",
            "scheduled_at",
            "started_at",
            "completed_at",
            "duration",
            "is_complete",
            "error",
            "traceback",
            "progress",
        ]
        read_only_fields = fields

    def get_duration(self, execution) -> str | None:
        return format_duration(execution.duration)

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="Why the run failed or was refused: the exception type and message. Null otherwise.",
        )
    )
    def get_error(self, execution):
        if execution.error:
            return execution.error
        failure = execution.result if execution.status == TaskExecution.Status.FAILURE else None
        if isinstance(failure, dict) and "exc_type" in failure:  # failed before `error` was recorded
            message = failure.get("exc_message")
            return f"{failure['exc_type']}: {message}" if message else failure["exc_type"]
        return None

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="The Python traceback of a failure; for staff only.")
    )
    def get_traceback(self, execution):
        return execution.traceback if self.shows_traceback else None


class StaffExecutionSerializer(ExecutionSerializer):
    """For staff: also the traceback (server paths and code, so for staff only)."""

    shows_traceback = True


class IntervalSerializer(serializers.Serializer):
    every = serializers.IntegerField(min_value=1)
    period = serializers.ChoiceField(
        choices=[IntervalSchedule.DAYS, IntervalSchedule.HOURS, IntervalSchedule.MINUTES, IntervalSchedule.SECONDS]
    )

    def validate(self, attrs):
        problem = interval_problem(every=attrs["every"], period=attrs["period"])
        if problem:
            raise serializers.ValidationError({"every": problem})
        return attrs


class CrontabSerializer(serializers.Serializer):
    minute = serializers.CharField(max_length=240, default="*")
    hour = serializers.CharField(max_length=96, default="*")
    day_of_week = serializers.CharField(max_length=64, default="*")
    day_of_month = serializers.CharField(max_length=124, default="*")
    month_of_year = serializers.CharField(max_length=64, default="*")


class ScheduleCreateSerializer(TaskCallSerializer):
    interval = IntervalSerializer(required=False, allow_null=True, default=None)
    crontab = CrontabSerializer(required=False, allow_null=True, default=None)
    enabled = serializers.BooleanField(default=True)

    def validate(self, attrs):
        if (attrs["interval"] is None) == (attrs["crontab"] is None):
            raise serializers.ValidationError("Give exactly one of interval or crontab.")
        return attrs


class ScheduleUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Only `enabled` can be changed, not: {', '.join(unknown)}.")
        return attrs


class ScheduleSerializer(serializers.ModelSerializer):
    interval = serializers.SerializerMethodField()
    crontab = serializers.SerializerMethodField()
    enabled = serializers.BooleanField(source="periodic_task.enabled", read_only=True)
    last_run_at = serializers.DateTimeField(source="periodic_task.last_run_at", read_only=True, allow_null=True)
    total_run_count = serializers.IntegerField(source="periodic_task.total_run_count", read_only=True)

    class Meta:
        model = TaskSchedule
        fields = [
            "id",
            "task_name",
            "args",
            "kwargs",
            "interval",
            "crontab",
            "enabled",
            "last_run_at",
            "total_run_count",
            "created_at",
        ]
        read_only_fields = fields

    def get_interval(self, schedule) -> IntervalSerializer(allow_null=True):
        interval = schedule.periodic_task.interval
        return {"every": interval.every, "period": interval.period} if interval else None

    def get_crontab(self, schedule) -> CrontabSerializer(allow_null=True):
        crontab = schedule.periodic_task.crontab
        if crontab is None:
            return None
        return {
            "minute": crontab.minute,
            "hour": crontab.hour,
            "day_of_week": crontab.day_of_week,
            "day_of_month": crontab.day_of_month,
            "month_of_year": crontab.month_of_year,
        }
