from datetime import timedelta

from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from . import auth_cache, scopes
from .models import ApiKey

KEY_PREFIX = "th_"
QUERY_PARAMS = ("api_key", "apikey", "api-key", "key")
# last_used_at is written at most this often per key, so reads stay read-only.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def split_key(raw_key: str):
    """`th_<prefix>.<secret>` -> prefix, or None when the shape is wrong."""
    if not raw_key.startswith(KEY_PREFIX) or "." not in raw_key:
        return None
    prefix = raw_key[len(KEY_PREFIX) :].split(".", 1)[0]
    return prefix if len(prefix) == ApiKey.PREFIX_LENGTH else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>` or `X-API-Key: <key>`; never a key in the query string.

    A key outside its scopes is refused here with 403 (accounts.scopes): authentication is the
    one step every view runs whatever permission classes it declares.
    """

    keyword = "Api-Key"

    def authenticate(self, request):
        if any(param in request.query_params for param in QUERY_PARAMS):
            raise exceptions.AuthenticationFailed(
                "API keys are not accepted in the query string; send the X-API-Key header."
            )
        raw_key = self._key_from_headers(request)
        if raw_key is None:
            return None
        user, api_key = self._authenticate_key(raw_key)
        refusal = scopes.refusal(api_key, request, request.parser_context.get("view"))
        if refusal:
            raise exceptions.PermissionDenied(refusal)
        return user, api_key

    def _key_from_headers(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if header and header[0].lower() == self.keyword.lower():
            if len(header) != 2:
                raise exceptions.AuthenticationFailed("Invalid Api-Key header.")
            return header[1]
        return request.headers.get("X-API-Key") or None

    def _authenticate_key(self, raw_key):
        prefix = split_key(raw_key)
        api_key = auth_cache.cached(auth_cache.api_key_key(prefix), lambda: self._load(prefix)) if prefix else None
        if api_key is None or not constant_time_compare(api_key.hashed_key, ApiKey.hash(raw_key)):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.is_expired:
            raise exceptions.AuthenticationFailed("API key has expired.")
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            # A cached key keeps its old last_used_at: the guard keeps it to one write a minute.
            if auth_cache.first_time_within(f"api-key-used:{prefix}", LAST_USED_RESOLUTION.total_seconds()):
                ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key.user, api_key

    @staticmethod
    def _load(prefix):
        return ApiKey.objects.select_related("user").defer("user__password").filter(prefix=prefix).first()

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def is_api_key_request(request) -> bool:
    return isinstance(getattr(request, "auth", None), ApiKey)


class CachedTokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with the token and its user cached (accounts.auth_cache)."""

    def authenticate_credentials(self, key):
        token = auth_cache.cached(auth_cache.token_key(key), lambda: self._load(key))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

    def _load(self, key):
        return self.get_model().objects.select_related("user").defer("user__password").filter(key=key).first()


class CachedJWTAuthentication(JWTAuthentication):
    """simplejwt's `Authorization: Bearer <access token>`, with the user cached (accounts.auth_cache).

    The signature and expiry are checked on every request as before; only the user row is
    cached. Tokens revoked by a password change (CHECK_REVOKE_TOKEN) need the password hash,
    so that setting reads the user every time.
    """

    def get_user(self, validated_token):
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if (
            user_id is None
            or jwt_settings.CHECK_REVOKE_TOKEN
            or jwt_settings.USER_ID_FIELD != self.user_model._meta.pk.name
        ):
            return super().get_user(validated_token)
        user = auth_cache.cached(
            auth_cache.user_key(user_id),
            lambda: self.user_model.objects.defer("password").filter(pk=user_id).first(),
        )
        if user is None:
            raise JWTAuthenticationFailed(_("User not found"), code="user_not_found")
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise JWTAuthenticationFailed(_("User is inactive"), code="user_inactive")
        return user
