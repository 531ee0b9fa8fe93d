from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from .models import ApiKey, Department, User

# Read from the `stat_counts` annotation ({name: count}) that tasks registers with selectors.users_list.
STAT_FIELDS = ("total", "todo", "in_progress", "done", "failed", "overdue")


class TaskStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    todo = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    overdue = serializers.IntegerField()


class UserSerializer(serializers.ModelSerializer):
    task_stats = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "external_id", "email", "name", "role", "department",
            "is_active", "is_staff", "email_verified", "date_joined", "task_stats",
        ]
        read_only_fields = [
            "id", "external_id", "is_active", "is_staff", "email_verified", "date_joined", "task_stats",
        ]

    def get_task_stats(self, user) -> TaskStatsSerializer:
        # Counts come from the annotations of selectors.users_list; a plain instance gets zeros.
        counts = getattr(user, "stat_counts", None) or {}
        return {name: counts.get(name, 0) for name in STAT_FIELDS}


def _check_password(attrs) -> None:
    """Django's password validators, against the account about to be created (its email)."""
    try:
        validate_password(attrs["password"], User(email=attrs["email"], name=attrs["name"]))
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"password": list(exc.messages)}) from exc


class UserCreateSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = User
        fields = ["email", "name", "role", "department", "password"]

    def validate(self, attrs):
        if "password" in attrs:
            _check_password(attrs)
        return attrs


class UserUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        # is_staff: only a CEO or a superuser may send it (permissions.account_change_refusal).
        fields = ["email", "name", "role", "department", "is_active", "is_staff"]


class RegisterSerializer(serializers.Serializer):
    # The model's bound: a longer address would reach PostgreSQL's varchar(254) as a 500.
    email = serializers.EmailField(max_length=User._meta.get_field("email").max_length)
    name = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    password2 = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs):
        if attrs["password"] != attrs["password2"]:
            raise serializers.ValidationError({"password2": "Passwords do not match."})
        _check_password(attrs)
        return attrs


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except User.DoesNotExist as exc:
            # simplejwt looks the user up with .get(): a deleted user's token would be a 500.
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account") from exc


class LogoutInputSerializer(serializers.Serializer):
    """A client that only has a DRF token logs out with an empty body."""

    refresh = serializers.CharField(required=False)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, help_text="Checked by Django's password validators."
    )


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=User._meta.get_field("email").max_length)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token of the link in the reset email.")
    new_password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, help_text="Checked by Django's password validators."
    )


class EmailVerifySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1000, help_text="The token of the link in the verification email.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ApiTokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "manager"]


class ApiKeyAccessMixin(serializers.Serializer):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKey.Scope.choices),
        allow_empty=False,
        required=False,
        help_text="`read`: GET/HEAD/OPTIONS; `write`: other methods outside the task API; `execute`: "
        "task-API execute, cancel and schedule create/pause/resume/delete. Default: all three.",
    )
    allowed_tasks = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        allow_null=True,
        max_length=200,
        help_text="Registered task names the key may run; empty or null: any task its owner may run.",
    )

    def validate_allowed_tasks(self, value):
        return value or []


class ApiKeySerializer(ApiKeyAccessMixin, serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "scopes", "allowed_tasks"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]


class ApiKeyUpdateSerializer(ApiKeyAccessMixin, serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "allowed_tasks"]
        extra_kwargs = {"name": {"required": False}}


class ApiKeyWithSecretSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]
