"""OpenAPI additions: the API-key scheme and the JSON error responses every endpoint can give."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "An error: `detail`, or field errors keyed by field name.",
    "additionalProperties": True,
}

ERROR_RESPONSES = {
    "400": "Invalid input: field errors keyed by field name.",
    "401": "Authentication credentials were not provided or are invalid.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found, or not visible to the requester.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <key>` (or the `X-API-Key: <key>` header).",
        }


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            public_op = {} in operation.get("security", [{}])
            for code, description in ERROR_RESPONSES.items():
                if code in ("401", "403") and public_op:
                    continue
                if code == "400" and method in ("get", "delete"):
                    continue
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result


class CachedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CachedJWTAuthentication"
