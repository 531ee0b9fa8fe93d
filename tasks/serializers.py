from datetime import datetime, tzinfo

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Department, User
from core.db import MAX_ID
from core.expand import EXPAND, ExpandableField

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
        users = User.objects.filter(pk__in=ids)
        if self.active_only:
            users = users.filter(is_active=True)
        found = {user.pk: user for user in users}
        missing = [pk for pk in ids if pk not in found]
        if missing:
            kind = "Unknown or inactive" if self.active_only else "Unknown"
            raise serializers.ValidationError(f"{kind} user ids: {missing}.")
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
