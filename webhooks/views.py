from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from .models import Webhook, WebhookDelivery
from .selectors import deliveries_of, webhooks_of
from .serializers import (
    DeliverySerializer,
    WebhookCreateSerializer,
    WebhookSecretSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from .services import (
    delivery_redeliver,
    webhook_create,
    webhook_delete,
    webhook_ping,
    webhook_rotate_secret,
    webhook_update,
)

ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
WEBHOOK_PARAMETER = OpenApiParameter("webhook_id", OpenApiTypes.INT, OpenApiParameter.PATH)
DISABLED = OpenApiResponse(description="The webhook is disabled; re-activate it first.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID_PARAMETER]),
    create=extend_schema(
        request=WebhookCreateSerializer,
        responses={
            201: WebhookSecretSerializer,
            409: OpenApiResponse(description="The user already has WEBHOOK_MAX_PER_USER webhooks."),
        },
        description="The answer carries the `secret`, shown only now. The URL must be http(s) and resolve to "
        "public addresses only (else 400 naming `url`).",
    ),
    partial_update=extend_schema(
        parameters=[ID_PARAMETER], request=WebhookUpdateSerializer, responses=WebhookSerializer,
        description="The fields sent change; `is_active: true` re-activates a disabled webhook and resets "
        "`failure_count`.",
    ),
    destroy=extend_schema(parameters=[ID_PARAMETER]),
)
class WebhookViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The requester's own webhooks; anyone else's answer 404."""

    serializer_class = WebhookSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Webhook.objects.none()
        return webhooks_of(self.request.user)

    def create(self, request, *args, **kwargs):
        data = WebhookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhook_create(owner=request.user, **data.validated_data)
        return Response(WebhookSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        data = WebhookUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook_update(webhook=webhook, **data.validated_data)
        return Response(WebhookSerializer(self.get_object()).data)

    def perform_destroy(self, instance):
        webhook_delete(webhook=instance)

    @extend_schema(
        parameters=[ID_PARAMETER], request=None, responses=WebhookSecretSerializer,
        description="A new secret, shown only now; every attempt from now on (retries included) is signed with it.",
    )
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request, pk=None):
        webhook = webhook_rotate_secret(webhook=self.get_object())
        return Response(WebhookSecretSerializer(webhook).data)

    @extend_schema(
        parameters=[ID_PARAMETER], request=None, responses={202: DeliverySerializer, 409: DISABLED},
        description="Queues a `ping` delivery (its data is the webhook) and answers it.",
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        delivery = webhook_ping(webhook=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(parameters=[WEBHOOK_PARAMETER], description="Newest first."))
class WebhookDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The deliveries of one of the requester's webhooks."""

    serializer_class = DeliverySerializer

    def _webhook(self) -> Webhook:
        return get_object_or_404(webhooks_of(self.request.user), pk=self.kwargs["webhook_id"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return deliveries_of(self._webhook())

    @extend_schema(
        parameters=[WEBHOOK_PARAMETER, OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=None,
        responses={
            202: DeliverySerializer,
            409: OpenApiResponse(description="The webhook is disabled, or an attempt is being sent right now."),
        },
        description="One more attempt of the same delivery (same id and body), due now.",
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, webhook_id=None, pk=None):
        delivery = get_object_or_404(self.get_queryset().select_related("webhook"), pk=pk)
        delivery = delivery_redeliver(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
