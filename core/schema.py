"""OpenAPI additions: the API-key scheme and the JSON error responses every endpoint can give."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error about the request as a whole: `detail` says why.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}

# DRF's validation errors: a message list per field, a nested object for a nested field
# (keyed by index for list items), a bare message where a service names one field.
FIELD_ERRORS_SCHEMA = {
    "description": "The messages about one field.",
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/FieldErrors"}]}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"}},
    ],
}

VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Invalid input: field errors keyed by the name of the field (or query parameter) "
    "at fault, `non_field_errors` for the input as a whole, or a `detail` when the body could not "
    "be read at all.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_RESPONSES = {
    "400": "Invalid input: field errors keyed by field name.",
    "401": "Authentication credentials were not provided or are invalid.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found, or not visible to the requester.",
    "413": "The request body is too large.",
    "415": "The request body is in a media type this operation does not read.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}
# core.throttling.RateLimitThrottle's count, on the answers of authenticated requests (not
# those refused before the view counts them: bad credentials, a permission class, a key's scope).
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed per window: THROTTLE_USER_RATE, or THROTTLE_KEY_RATE for an API key.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "Seconds until the current window ends and the count starts again.",
}
RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
# Request encodings the browsable API's forms use; see _json_bodies_only.
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Codes that come from reading a request body; documented only where there is one.
BODY_CODES = {"413", "415"}


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


def _reads_input(operation) -> bool:
    """Whether the operation reads a body or a query, which the client can get wrong."""
    return "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))


def _empty_means_absent(operation) -> None:
    """On a list, an empty query parameter (`?status=`) is no parameter: django-filter, DRF's
    search and ordering and the pagination all read it so, and the schema says it."""
    parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    if any(p["name"] == "page" for p in parameters):
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
    # An empty `?expand=` expands nothing, wherever it is taken (core.expand).
    for parameter in parameters:
        if parameter["name"] == "expand":
            parameter["allowEmptyValue"] = True


def _json_bodies_only(operation) -> None:
    """Document JSON request bodies only, where an operation reads JSON.

    The form encodings are parsed too, for the browsable API's HTML forms, with HTML form
    semantics (an empty field is null, a list is a repeated key) that a JSON Schema shared
    with the JSON body cannot describe; clients send JSON. Uploads stay multipart.
    """
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        for media_type in FORM_MEDIA_TYPES:
            content.pop(media_type, None)


def _rate_limit_headers(responses) -> None:
    for code, response in responses.items():
        if code == "401":
            continue
        headers = response.setdefault("headers", {})
        for name, description in RATE_LIMIT_HEADERS.items():
            headers.setdefault(name, {"schema": {"type": "integer"}, "description": description})
        if code == "429":
            headers.setdefault("Retry-After", RETRY_AFTER)


def add_error_responses(result, generator, request, public):
    """Document the JSON errors every operation can answer, with bodies that match them.

    401/403 on every operation that needs credentials, 404 and 429 everywhere, 400 where the
    operation reads a body or a query (filters, `wait` ...), and 413/415 where it reads a
    body. Responses a view declares itself (409, 412 ...) keep their description and get the
    error body when they declare none.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["ValidationError"] = VALIDATION_ERROR_SCHEMA
    schemas["FieldErrors"] = FIELD_ERRORS_SCHEMA

    def content(code):
        name = "ValidationError" if code == "400" else "Error"
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            _empty_means_absent(operation)
            _json_bodies_only(operation)
            responses = operation.setdefault("responses", {})
            public_op = {} in operation.get("security", [{}])
            for code, description in ERROR_RESPONSES.items():
                if code in ("401", "403") and public_op:
                    continue
                if code == "400" and not _reads_input(operation):
                    continue
                if code in BODY_CODES and "requestBody" not in operation:
                    continue
                responses.setdefault(code, {"description": description})
            if not public_op:
                _rate_limit_headers(responses)
            for code, response in responses.items():
                declared = response.get("content", {}).get("application/json", {}).get("schema")
                # A 400 is field errors as often as a `detail`, whatever a view declared.
                if code.startswith("4") and (not response.get("content") or (code == "400" and declared == ERROR_REF)):
                    response["content"] = content(code)
    return result


class CachedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CachedJWTAuthentication"
