import hashlib
import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_departments",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.CEO)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        CEO = "ceo", "CEO"
        HR = "hr", "HR"
        MANAGER = "manager", "Manager"
        EMPLOYEE = "employee", "Employee"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EMPLOYEE, db_index=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    # Set by following the emailed verification link (or a password reset, which proves the
    # address too); a change of address clears it.
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.email

    @property
    def sees_everything(self):
        """CEO, HR and staff read every task, user and audit row."""
        return self.is_staff or self.role in (self.Role.CEO, self.Role.HR)

    @property
    def holds_power(self):
        """Superusers, staff and CEOs: only a CEO or a superuser may change these accounts."""
        return self.is_superuser or self.is_staff or self.role == self.Role.CEO


def api_key_default_scopes() -> list[str]:
    return list(ApiKey.Scope.values)


class ApiKey(models.Model):
    """A key for an external service, acting as its owner. Only a hash of the secret is kept."""

    class Scope(models.TextChoices):
        READ = "read", "Read (GET, HEAD, OPTIONS)"
        WRITE = "write", "Write (other methods outside the task API)"
        EXECUTE = "execute", "Execute (task-API execute, cancel and schedule changes)"

    PREFIX_LENGTH = 8

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # What requests the key may make (accounts.scopes); a list of Scope values.
    scopes = models.JSONField(default=api_key_default_scopes)
    # Registered task-API names the key may run; empty: any its owner may run.
    allowed_tasks = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        # Keys carry 256 bits of randomness, so a fast hash is enough (no brute force).
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def rate_limit_bucket(self) -> str:
        # core.throttling counts a key's requests apart from its owner's other credentials.
        return f"api-key:{self.pk}"
