from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import WebhookDeliveryViewSet, WebhookViewSet

router = SimpleRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

deliveries = WebhookDeliveryViewSet.as_view({"get": "list"})
redeliver = WebhookDeliveryViewSet.as_view({"post": "redeliver"})

urlpatterns = [
    path("webhooks/<int:webhook_id>/deliveries/", deliveries, name="webhook-delivery-list"),
    path(
        "webhooks/<int:webhook_id>/deliveries/<uuid:pk>/redeliver/", redeliver, name="webhook-delivery-redeliver"
    ),
    *router.urls,
]
