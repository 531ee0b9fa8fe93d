from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import selectors, services
from .filters import AttachmentFilter
from .models import Attachment
from .permissions import AttachmentPermission, can_attach
from .serializers import AttachmentSerializer, AttachmentUploadSerializer

# Room for the multipart boundaries and the `task` field around a file at the size cap.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@extend_schema_view(
    create=extend_schema(request={"multipart/form-data": AttachmentUploadSerializer},
                         responses={201: AttachmentSerializer}),
)
class AttachmentViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Files on the live tasks the requester can see; the bytes only through `download`.

    The task's creator, editors and assignees attach; the uploader or an editor deletes.
    """

    serializer_class = AttachmentSerializer
    permission_classes = [IsAuthenticated, AttachmentPermission]
    filterset_class = AttachmentFilter
    search_fields = ["name"]
    ordering_fields = ["uploaded_at", "name", "size"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        return selectors.attachments_visible_to(self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # A download answers bytes whatever the client accepts; its errors are still JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    def create(self, request, *args, **kwargs):
        # Refused before the body is read: nobody waits for (or stores) a body that cannot fit.
        services.attachment_check_size(size=_content_length(request) - MULTIPART_OVERHEAD_BYTES)
        upload = AttachmentUploadSerializer(data=request.data, context=self.get_serializer_context())
        upload.is_valid(raise_exception=True)
        task = upload.validated_data["task"]
        if not can_attach(request.user, task):
            raise PermissionDenied("Only the task's creator, editors and assignees may attach files.")
        attachment = services.attachment_create(
            task=task, uploaded_by=request.user, file=upload.validated_data["file"]
        )
        output = AttachmentSerializer(attachment, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.attachment_delete(attachment=instance)

    # The bytes as uploaded, in the attachment's own content type.
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError as exc:
            raise NotFound("The file of this attachment is missing from storage.") from exc
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type or services.DEFAULT_CONTENT_TYPE,
        )
        # Whatever the bytes are, the browser must neither sniff nor run them.
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
