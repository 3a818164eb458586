"""drf-spectacular extensions: the bearer-key scheme, the scope each operation needs and the
error shape on every operation."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from sendook.api.permissions import required_scope

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string", "description": "The same text as `error`."},
        "code": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["error", "message", "code"],
}

ERROR_STATUSES = {
    "400": "Invalid request",
    "401": "Missing, unknown or revoked API key",
    "403": "The API key lacks the scope the operation needs (`requiredScope` names it), "
    "or may not do this",
    "404": "Not found (or another organization's)",
    "405": "Method not allowed",
    "409": "Conflict",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "The request cannot be carried out",
    "429": "Rate limit exceeded",
    "503": "A backing service is unavailable",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "sendook.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: `sk_…`"}


class ScopedAutoSchema(AutoSchema):
    """Each operation says which API-key scope it needs: in its description and, for tools,
    as `x-required-scope` (OpenAPI 3.0 allows no scopes on an http bearer requirement)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        scope = required_scope(self.view, self.method)
        if operation is not None and scope:
            needs = f"Needs API-key scope `{scope}`."
            description = operation.get("description")
            operation["description"] = f"{description}\n\n{needs}" if description else needs
            operation["x-required-scope"] = scope
        return operation


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result


def strip_trailing_slashes(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Routes accept an optional trailing slash; the schema names the canonical form."""
    result["paths"] = {
        path.rstrip("/") or "/": item for path, item in result.get("paths", {}).items()
    }
    return result
