from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .filters import NotificationFilter
from .models import Notification
from .pagination import UnreadCountPagination
from .selectors import notification_preferences_for, notifications_for, notifications_unread_count
from .serializers import (
    MarkedSerializer,
    NotificationPreferencesSerializer,
    NotificationPreferencesUpdateSerializer,
    NotificationSerializer,
)
from .services import notification_mark_read, notification_preferences_update, notifications_mark_all_read

# The URL takes digits only (lookup_value_regex), so the id is an integer, not any string.
ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(retrieve=extend_schema(parameters=[ID_PARAMETER]), read=extend_schema(parameters=[ID_PARAMETER]))
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The requester's own notifications; anyone else's answer 404."""

    serializer_class = NotificationSerializer
    pagination_class = UnreadCountPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = NotificationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return notifications_for(user=self.request.user)

    def list(self, request, *args, **kwargs):
        self.paginator.unread_count = notifications_unread_count(user=request.user)
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = notification_mark_read(notification=self.get_object())
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"])
    def read_all(self, request):
        return Response({"marked": notifications_mark_all_read(user=request.user)})


class NotificationPreferencesView(generics.GenericAPIView):
    """The requester's notification preferences: every kind on each channel, on unless turned off."""

    serializer_class = NotificationPreferencesSerializer

    @extend_schema(responses={200: NotificationPreferencesSerializer})
    def get(self, request):
        return Response(notification_preferences_for(user=request.user))

    @extend_schema(
        request=NotificationPreferencesUpdateSerializer,
        responses={200: NotificationPreferencesSerializer},
        description="Merge: only the channels and kinds sent change. An unknown channel or kind, "
        "or a value other than true/false, is a 400 naming it.",
    )
    def patch(self, request):
        data = NotificationPreferencesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notification_preferences_update(user=request.user, changes=data.validated_data)
        return Response(notification_preferences_for(user=request.user))
