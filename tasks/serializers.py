from collections.abc import Mapping
from datetime import datetime, tzinfo

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Department, User
from core.db import MAX_ID
from core.expand import EXPAND, ExpandableField
from core.lookups import ID_OR_EXTERNAL_ID_SCHEMA, parse_id_or_external_id

from .models import Task, TaskAssignment
from .selectors import tasks_visible_to

# Descriptions and comments share one cap: room for pages of text, and a bound on what one
# request can store and every later read must carry.
DESCRIPTION_MAX_LENGTH = 20_000


def iso_datetime(value: datetime | None, tz: tzinfo) -> str | None:
    """What DRF's DateTimeField renders (ISO 8601 in `tz`, UTC as `Z`), minus its per-field
    work; the caller looks the current time zone up once, not once per value."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# `?expand=` on tasks: the relations it replaces with objects (`author`: of the latest comments
# the detail carries, as seed 003's detail shows its comments' authors as people).
TASK_EXPANSIONS = ("creator", "assigned_by", "assignees", "department", "author")


def user_brief(user) -> dict:
    return {"id": user.id, "external_id": str(user.external_id), "name": user.name, "email": user.email,
            "role": user.role}


class UserBriefSerializer(serializers.Serializer):
    """A person as `?expand=` shows them: a User, or a selectors.UserBrief."""

    id = serializers.IntegerField()
    external_id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=User.Role.choices)

    def to_representation(self, user):
        return user_brief(user)


class DepartmentBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    def to_representation(self, department):
        return {"id": department.id, "name": department.name}


class CommentBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = ExpandableField(brief=UserBriefSerializer)
    content = serializers.CharField()
    created_at = serializers.DateTimeField()


class TaskSerializer(serializers.Serializer):
    """A task as the API answers it.

    The declared fields document the shape (OpenAPI); `to_representation` builds the same
    dict directly, because the list renders up to 100 of these per request and DRF's
    field-by-field machinery costs more than the database work. It expects the instance
    shaped by tasks.selectors for the same `context["expand"]` (`comments_count` annotated,
    `assignee_ids` attached, expanded relations joined); `url` is absolute when
    `context["request"]` is there.
    """

    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The task's detail URL.")
    external_id = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Task.Status.choices)
    priority = serializers.ChoiceField(choices=Task.Priority.choices)
    creator = ExpandableField(brief=UserBriefSerializer)
    assigned_by = ExpandableField(brief=UserBriefSerializer, allow_null=True)
    assignees = serializers.ListField(child=ExpandableField(brief=UserBriefSerializer, expansion="assignees"))
    department = ExpandableField(brief=DepartmentBriefSerializer, allow_null=True)
    due_date = serializers.DateTimeField(allow_null=True)
    estimate_hours = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    is_delegated = serializers.BooleanField()
    completed_late = serializers.BooleanField()
    comments_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _rendering(self) -> tuple[frozenset[str], str]:
        """The expansions and the detail URL's prefix, looked up once per serializer (the list's
        child renders every item)."""
        if "_rendering_options" not in self.__dict__:
            request = self.context.get("request")
            path = reverse("task-detail", kwargs={"pk": 0}).removesuffix("0/")
            self._rendering_options = (
                frozenset(self.context.get(EXPAND, ())),
                request.build_absolute_uri(path) if request is not None else path,
            )
        return self._rendering_options

    def to_representation(self, task):
        estimate = task.estimate_hours
        tz = timezone.get_current_timezone()
        expand, url_prefix = self._rendering()
        return {
            "id": task.id,
            "url": f"{url_prefix}{task.id}/",
            "external_id": str(task.external_id),
            "title": task.title,
            "description": task.description,
            "status": task.status,
            "priority": task.priority,
            "creator": user_brief(task.creator) if "creator" in expand else task.creator_id,
            "assigned_by": (
                user_brief(task.assigned_by) if "assigned_by" in expand and task.assigned_by_id else task.assigned_by_id
            ),
            "assignees": (
                [user_brief(person) for person in task.assignee_people] if "assignees" in expand else task.assignee_ids
            ),
            "department": (
                {"id": task.department.id, "name": task.department.name}
                if "department" in expand and task.department_id
                else task.department_id
            ),
            "due_date": iso_datetime(task.due_date, tz),
            "estimate_hours": None if estimate is None else f"{estimate:.2f}",
            "completed_at": iso_datetime(task.completed_at, tz),
            "is_delegated": task.is_delegated,
            "completed_late": task.completed_late,
            "comments_count": task.comments_count,
            "created_at": iso_datetime(task.created_at, tz),
            "updated_at": iso_datetime(task.updated_at, tz),
        }


class TaskDetailSerializer(TaskSerializer):
    latest_comments = CommentBriefSerializer(many=True, help_text="The 5 newest comments, newest first.")

    def to_representation(self, task):
        data = super().to_representation(task)
        tz = timezone.get_current_timezone()
        authors = "author" in self._rendering()[0]
        data["latest_comments"] = [
            {
                "id": comment.id,
                "author": user_brief(comment.author) if authors else comment.author_id,
                "content": comment.content,
                "created_at": iso_datetime(comment.created_at, tz),
            }
            for comment in task.latest_comments
        ]
        return data


@extend_schema_field(OpenApiTypes.INT)
class VisibleTaskField(serializers.PrimaryKeyRelatedField):
    """A task id; a task the requester cannot see (or a deleted one) does not exist for them.

    For the apps whose rows hang off a task (comments, attachments).
    """

    def get_queryset(self):
        return tasks_visible_to(self.context["request"].user).select_related("department")


def users_by_id(ids, *, active_only: bool = True) -> dict[int, User]:
    """{id: user} of the (active) users among `ids`, in one query."""
    users = User.objects.filter(pk__in=set(ids))
    return (users.filter(is_active=True) if active_only else users).in_bulk()


def unknown_users_error(missing: list[int], *, active_only: bool = True) -> str:
    return f"{'Unknown or inactive' if active_only else 'Unknown'} user ids: {missing}."


class UserIdsField(serializers.ListField):
    """A list of user ids resolved to users in one query; unknown ids are a 400.

    `active_only=False` accepts deactivated users (to take them off a task).
    """

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def __init__(self, *, active_only: bool = True, **kwargs):
        self.active_only = active_only
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        ids = super().to_internal_value(data)
        # ListField checks max_length on the returned value, which is deduplicated below.
        if self.max_length is not None and len(ids) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        ids = list(dict.fromkeys(ids))
        found = users_by_id(ids, active_only=self.active_only)
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(unknown_users_error(missing, active_only=self.active_only))
        return [found[pk] for pk in ids]

    def to_representation(self, data):
        # The browsable API renders this input field from the task itself: a related manager.
        if hasattr(data, "all"):
            data = data.all()
        return [getattr(user, "pk", user) for user in data]


class TaskWriteSerializer(serializers.Serializer):
    """Input of create, PUT and PATCH. On create `status` may only be `todo` (or absent)."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, max_length=DESCRIPTION_MAX_LENGTH)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), allow_null=True, required=False
    )
    due_date = serializers.DateTimeField(allow_null=True, required=False)
    estimate_hours = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    assignees = UserIdsField(
        required=False,
        allow_empty=True,
        help_text="The complete new set of assignees; changes are recorded like assign/unassign.",
    )


# Items per bulk request: what one request may write, and what its fixed queries carry.
BULK_MAX_ITEMS = 100


class TaskBulkCreateListSerializer(serializers.ListSerializer):
    """The body of bulk_create: 1 to BULK_MAX_ITEMS items, each read as TaskWriteSerializer
    reads a POST, their departments and assignees resolved for all items in one query each.

    Item errors answer `{"errors": {"<index>": {field: [messages]}}}`, every refused item at once.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", BULK_MAX_ITEMS)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, list) or not 0 < len(data) <= self.max_length:
            return super().to_internal_value(data)  # refuses the list as a whole, naming why
        items, errors = {}, {}
        for index, item in enumerate(data):
            try:
                items[index] = self.run_child_validation(item)
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        errors.update(self._resolve_relations(items))
        if errors:
            raise serializers.ValidationError({"errors": {str(index): errors[index] for index in sorted(errors)}})
        return list(items.values())

    @staticmethod
    def _resolve_relations(items: dict[int, dict]) -> dict[int, dict]:
        """Replace department and assignee ids by their rows in place; the errors of those that name none."""
        departments = Department.objects.in_bulk({item.get("department") for item in items.values()} - {None})
        users = users_by_id(pk for item in items.values() for pk in item.get("assignees", ()))
        errors = {}
        for index, item in items.items():
            department = item.get("department")
            if department is not None:
                item["department"] = departments.get(department)
                if item["department"] is None:
                    errors.setdefault(index, {})["department"] = [
                        serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"].format(
                            pk_value=department
                        )
                    ]
            ids = list(dict.fromkeys(item.get("assignees", ())))
            missing = [pk for pk in ids if pk not in users]
            if missing:
                errors.setdefault(index, {})["assignees"] = [unknown_users_error(missing)]
            item["assignees"] = [users[pk] for pk in ids if pk in users]
        return errors


class TaskBulkCreateItemSerializer(TaskWriteSerializer):
    """One item of bulk_create: a POST body, with `department` and `assignees` left as ids for
    TaskBulkCreateListSerializer to resolve for all items at once."""

    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    assignees = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=100
    )

    class Meta:
        list_serializer_class = TaskBulkCreateListSerializer


# The request schema of bulk_create: a list of what POST /tasks/ takes (TaskWriteSerializer's request
# component, as drf-spectacular names it with COMPONENT_SPLIT_REQUEST).
TASK_BULK_CREATE_REQUEST = {
    "type": "array",
    "items": {"$ref": "#/components/schemas/TaskWriteRequest"},
    "minItems": 1,
    "maxItems": BULK_MAX_ITEMS,
}


@extend_schema_field(ID_OR_EXTERNAL_ID_SCHEMA)
class IdOrExternalIdField(serializers.Field):
    """A task's integer id or its external_id (a UUID string), as the URLs take them."""

    default_error_messages = {"invalid": f"Expected an id (1 to {MAX_ID}) or an external_id (a UUID)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        value = parse_id_or_external_id(str(data))
        if value is None:
            self.fail("invalid")
        return value


class TaskBulkChangesSerializer(serializers.Serializer):
    """What bulk_update sets on every task: validated as PATCH validates these fields."""

    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    due_date = serializers.DateTimeField(allow_null=True, required=False)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), allow_null=True, required=False
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["bulk_update cannot set this field."] for name in unknown})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(f"Name at least one of: {', '.join(self.fields)}.")
        return attrs


class TaskBulkUpdateSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=IdOrExternalIdField(), min_length=1, max_length=BULK_MAX_ITEMS,
        help_text="The tasks to change: ids or external_ids, each task once.",
    )
    set = TaskBulkChangesSerializer(help_text="The values every task gets.")


class AssigneesInputSerializer(serializers.Serializer):
    assignees = UserIdsField(allow_empty=False)


class UnassignInputSerializer(serializers.Serializer):
    assignees = UserIdsField(active_only=False, allow_empty=False)


class DelegateInputSerializer(serializers.Serializer):
    to = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class AssigneesResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="`assigned` or `unassigned`")
    assignees = serializers.ListField(child=serializers.IntegerField())


class MarkDoneResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="`done`")
    completed_at = serializers.DateTimeField()
    completed_late = serializers.BooleanField()


class HistoryItemSerializer(serializers.Serializer):
    """One history entry: a status change (`type: status`) or an assignment record."""

    type = serializers.ChoiceField(choices=["status", "assignment"])
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    from_status = serializers.CharField(required=False, help_text="status entries; '' on creation")
    to_status = serializers.CharField(required=False, help_text="status entries")
    changed_by = serializers.IntegerField(required=False, allow_null=True, help_text="status entries")
    action = serializers.ChoiceField(
        choices=TaskAssignment.Action.choices, required=False, help_text="assignment entries"
    )
    assigned_to = serializers.IntegerField(required=False, help_text="assignment entries")
    assigned_by = serializers.IntegerField(required=False, allow_null=True, help_text="assignment entries")


class TaskAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskAssignment
        fields = ["id", "task", "assigned_to", "assigned_by", "action", "created_at"]
        read_only_fields = fields
