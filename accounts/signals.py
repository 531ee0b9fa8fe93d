"""Any change to who holds which permission makes the cached permission sets stale."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .backends import permissions_changed

User = get_user_model()


@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def on_membership_changed(action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        permissions_changed()


@receiver(post_save, sender=Permission)
@receiver(post_delete, sender=Permission)
@receiver(post_delete, sender=Group)
@receiver(post_delete, sender=User)
def on_permission_holder_changed(**kwargs):
    permissions_changed()
