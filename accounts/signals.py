"""Keep the caches of `accounts.backends` (permission sets) and `accounts.auth_cache`
(credential -> user) true: any change to who holds what, or to a user, token or key, applies
to the next request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from . import auth_cache
from .backends import permissions_changed
from .models import ApiKey

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


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def on_user_changed(instance, update_fields=None, created=False, **kwargs):
    # A new user has nothing cached yet; logging in stamps last_login, which no credential
    # check reads.
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    auth_cache.forget_user(instance.pk)


@receiver(post_save, sender=Token)
@receiver(post_delete, sender=Token)
def on_token_changed(instance, **kwargs):
    auth_cache.forget(auth_cache.token_key(instance.key))


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def on_api_key_changed(instance, **kwargs):
    auth_cache.forget(auth_cache.api_key_key(instance.prefix))


@receiver(pre_save, sender=ApiKey)
def on_api_key_saving(instance, **kwargs):
    # Regenerating a key gives it a new prefix: the entry under the old one must go too.
    if auth_cache.enabled() and instance.pk is not None:
        old = ApiKey.objects.filter(pk=instance.pk).values_list("prefix", flat=True).first()
        if old is not None and old != instance.prefix:
            auth_cache.forget(auth_cache.api_key_key(old))
