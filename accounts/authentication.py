from datetime import timedelta

from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import authentication, exceptions

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
    """`Authorization: Api-Key <key>` or `X-API-Key: <key>`; never a key in the query string."""

    keyword = "Api-Key"

    def authenticate(self, request):
        if any(param in request.query_params for param in QUERY_PARAMS):
            raise exceptions.AuthenticationFailed(
                "API keys are not accepted in the query string; send the X-API-Key header."
            )
        raw_key = self._key_from_headers(request)
        if raw_key is None:
            return None
        return self._authenticate_key(raw_key)

    def _key_from_headers(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if header and header[0].lower() == self.keyword.lower():
            if len(header) != 2:
                raise exceptions.AuthenticationFailed("Invalid Api-Key header.")
            return header[1]
        return request.headers.get("X-API-Key") or None

    def _authenticate_key(self, raw_key):
        prefix = split_key(raw_key)
        api_key = (
            ApiKey.objects.select_related("user").filter(prefix=prefix).first() if prefix else None
        )
        if api_key is None or not constant_time_compare(api_key.hashed_key, ApiKey.hash(raw_key)):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.is_expired:
            raise exceptions.AuthenticationFailed("API key has expired.")
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key.user, api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def is_api_key_request(request) -> bool:
    return isinstance(getattr(request, "auth", None), ApiKey)
