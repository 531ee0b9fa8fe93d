"""Who may change comments; seeing them is the selectors' business."""

from rest_framework import permissions

from .models import Comment


class IsCommentAuthorOrReadOnly(permissions.BasePermission):
    message = "Only the author may change or delete a comment."

    def has_object_permission(self, request, view, obj: Comment):
        return request.method in permissions.SAFE_METHODS or obj.author_id == request.user.pk
