from django.contrib.auth import authenticate, update_session_auth_hash
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from core.etag import ConditionalRequestMixin
from core.lookups import IdOrExternalIdAutoSchema, IdOrExternalIdLookupMixin, id_or_external_id_lookup

from . import selectors, services
from .filters import UserFilter
from .models import ApiKey
from .permissions import DenyApiKey, IsPeopleAdminOrReadOnly, UserObjectPermission
from .serializers import (
    ApiKeySerializer,
    ApiKeyUpdateSerializer,
    ApiKeyWithSecretSerializer,
    ApiTokenSerializer,
    DepartmentSerializer,
    DetailSerializer,
    EmailVerifySerializer,
    LoginSerializer,
    LogoutInputSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from .throttling import (
    AuthFailureThrottle,
    LoginFailureThrottle,
    PasswordResetThrottle,
    RegistrationThrottle,
    login_failed,
    login_wait,
)

BAD_CREDENTIALS = OpenApiResponse(description="The credentials (or the refresh token) are wrong.")
PASSWORD_RESET_SENT = "If an active account uses this address, a password reset link is on its way to it."


class _AuthFailureThrottled(APIView):
    """Public auth endpoint whose failed attempts feed the failure throttle."""

    authentication_classes = []
    permission_classes = [AllowAny]
    failure_throttle = AuthFailureThrottle
    throttle_classes = [AuthFailureThrottle]

    def get_authenticate_header(self, request):
        # Bad credentials answer 401 (with a challenge), not 403.
        return 'Bearer realm="api"'

    def handle_exception(self, exc):
        if isinstance(exc, (AuthenticationFailed, ValidationError, DjangoValidationError)):
            self.failure_throttle().record_failure(self.request, self)
        return super().handle_exception(exc)


class RegisterView(_AuthFailureThrottled):
    throttle_classes = [AuthFailureThrottle, RegistrationThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: RegisterResponseSerializer})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(
            email=data.validated_data["email"],
            name=data.validated_data["name"],
            password=data.validated_data["password"],
        )
        RegistrationThrottle().record_success(request)
        services.user_email_verification_send(user=user)
        tokens = services.user_issue_jwt(user=user)
        return Response({"user": UserSerializer(user).data, **tokens}, status=status.HTTP_201_CREATED)


class LoginView(_AuthFailureThrottled):
    failure_throttle = LoginFailureThrottle
    throttle_classes = [LoginFailureThrottle]

    @extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer, 401: BAD_CREDENTIALS})
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            email=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if user is None:
            raise AuthenticationFailed("Invalid email or password.")
        return Response(services.user_issue_jwt(user=user))


@extend_schema_view(post=extend_schema(responses={200: TokenPairSerializer, 401: BAD_CREDENTIALS}))
class RefreshView(TokenRefreshView):
    """Rotates the refresh token; the one sent is blacklisted."""

    serializer_class = RefreshSerializer


class LogoutView(APIView):
    permission_classes = [IsAuthenticated, DenyApiKey]

    @extend_schema(request=LogoutInputSerializer, responses={205: None})
    def post(self, request):
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_logout(user=request.user, refresh=data.validated_data.get("refresh"))
        return Response(status=status.HTTP_205_RESET_CONTENT)


class PasswordChangeView(APIView):
    """Keys cannot change the account; wrong old passwords count in the login throttle's windows."""

    permission_classes = [IsAuthenticated, DenyApiKey]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer},
        description="Sets a new password. Every refresh token of the user is blacklisted and the DRF "
        "token deleted (API keys stay); the answer is a fresh token pair, so the caller stays signed in.",
    )
    def post(self, request):
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wait = login_wait(request, request.user.email)
        if wait is not None:
            raise Throttled(wait=wait)
        try:
            user = services.user_password_change(user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            if "old_password" in exc.message_dict:
                login_failed(request, request.user.email)
            raise
        if isinstance(request.successful_authenticator, SessionAuthentication):
            update_session_auth_hash(request, user)  # this browser session stays signed in
        return Response(services.user_issue_jwt(user=user))


class PasswordResetView(_AuthFailureThrottled):
    throttle_classes = [AuthFailureThrottle, PasswordResetThrottle]

    @extend_schema(
        request=PasswordResetSerializer,
        responses={202: DetailSerializer},
        description="Mails a one-time link (valid PASSWORD_RESET_HOURS) to the active account with this "
        "address. The answer is the same whether or not there is one.",
    )
    def post(self, request):
        data = PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        PasswordResetThrottle().record_request(request)
        services.user_password_reset_request(email=data.validated_data["email"])
        return Response({"detail": PASSWORD_RESET_SENT}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(_AuthFailureThrottled):
    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={200: DetailSerializer},
        description="Sets the password of the account the reset token names. The token then stops "
        "working; every refresh token is blacklisted and the DRF token deleted. 400 on a bad, used or "
        "expired token (`token`) or a weak password (`new_password`).",
    )
    def post(self, request):
        data = PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_reset_confirm(**data.validated_data)
        return Response({"detail": "Your password has been set. Sign in with it."})


class VerifyEmailView(_AuthFailureThrottled):
    @extend_schema(
        request=EmailVerifySerializer,
        responses={200: DetailSerializer},
        description="Marks the address the token was mailed to as verified; 400 on a bad or expired token.",
    )
    def post(self, request):
        data = EmailVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_verify_email(token=data.validated_data["token"])
        return Response({"detail": "Your email address is verified."})


class MeView(generics.RetrieveAPIView):
    serializer_class = UserSerializer

    def get_object(self):
        return selectors.users_list().get(pk=self.request.user.pk)


class ApiTokenView(APIView):
    permission_classes = [IsAuthenticated, DenyApiKey]

    @extend_schema(request=None, responses={200: ApiTokenSerializer})
    def post(self, request):
        return Response({"token": services.user_api_token(user=request.user)})


@extend_schema_view(
    update=extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer}),
    partial_update=extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer}),
    destroy=extend_schema(description="Deactivates the user (is_active=false); nothing is deleted."),
)
class UserViewSet(ConditionalRequestMixin, IdOrExternalIdLookupMixin, viewsets.ModelViewSet):
    """Users, addressed by id or external_id."""

    schema = IdOrExternalIdAutoSchema()
    permission_classes = [IsAuthenticated, UserObjectPermission]
    filterset_class = UserFilter
    search_fields = ["name", "email"]
    ordering_fields = ["id", "name", "email", "date_joined"]
    ordering = ["id"]

    def get_queryset(self):
        return selectors.users_list()

    def get_serializer_class(self):
        return {"create": UserCreateSerializer}.get(
            self.action, UserUpdateSerializer if self.action in ("update", "partial_update") else UserSerializer
        )

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request, *args, **kwargs):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**{"password": None, **data.validated_data})
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        # The input serializer is not the answer's: the answer is the re-read user, with task_stats.
        super().update(request, *args, **kwargs)
        return Response(UserSerializer(self.get_queryset().get(**id_or_external_id_lookup(kwargs["pk"]))).data)

    def perform_update(self, serializer):
        services.user_update(user=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.user_deactivate(user=instance)


class DepartmentViewSet(ConditionalRequestMixin, viewsets.ModelViewSet):
    serializer_class = DepartmentSerializer
    permission_classes = [IsAuthenticated, IsPeopleAdminOrReadOnly]
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
    filterset_fields = ["manager"]

    def get_queryset(self):
        return selectors.departments_list()

    def perform_create(self, serializer):
        department = services.department_create(**serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=department.pk)

    def perform_update(self, serializer):
        department = services.department_update(department=serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=department.pk)

    def perform_destroy(self, instance):
        services.department_delete(department=instance)


@extend_schema_view(
    partial_update=extend_schema(
        request=ApiKeyUpdateSerializer,
        responses={200: ApiKeySerializer},
        summary="Rename a key or change its scopes and allowed tasks",
    )
)
class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ApiKeySerializer
    permission_classes = [IsAuthenticated, DenyApiKey]
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return selectors.api_keys_of(user=self.request.user)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyWithSecretSerializer})
    def create(self, request, *args, **kwargs):
        data = ApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(user=request.user, **data.validated_data)
        api_key.key = raw_key
        return Response(ApiKeyWithSecretSerializer(api_key).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = ApiKeyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = services.api_key_update(api_key=self.get_object(), **data.validated_data)
        return Response(ApiKeySerializer(api_key).data)

    @extend_schema(request=None, responses={200: ApiKeyWithSecretSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request, pk=None):
        api_key = self.get_object()
        api_key.key = services.api_key_regenerate(api_key=api_key)
        return Response(ApiKeyWithSecretSerializer(api_key).data)
