"""The conventions every /v1 endpoint shares, imported from here by every app.

- bearer API-key authentication (`auth`)
- organization scoping (`viewsets.OrgScopedViewSet`: every row comes through a selector)
- API-key scopes, checked for every endpoint by `permissions.ScopePermission`
- camelCase JSON with `id`/`_id`, millisecond UTC timestamps, unset optionals omitted
  (`serializers`)
- bounded, strict JSON bodies (`parsers`)
- bare-array lists with cursor pagination and `Link: <…>; rel="next"` (`pagination`)
- one JSON error shape for every error (`errors`)
- per-organization rate limits counted in the cache (`throttling`)
- `Idempotency-Key` replay for send-type POSTs (`idempotency`)
"""

from sendook.api.auth import (
    API_KEY_PREFIX,
    ApiClient,
    ApiKeyAuthentication,
    authenticate_bearer,
    generate_api_key_secret,
    hash_api_key,
)
from sendook.api.errors import error_body, error_response, exception_handler, json_error
from sendook.api.idempotency import (
    IdempotencyKeyReused,
    fingerprint_of,
    idempotent,
    replay_cutoff,
    run_once,
)
from sendook.api.pagination import CursorPagination, decode_cursor, encode_cursor
from sendook.api.parsers import BoundedJSONParser, PayloadTooLarge
from sendook.api.permissions import (
    SCOPES,
    Forbidden,
    MissingScope,
    ScopePermission,
    required_scope,
)
from sendook.api.routers import OptionalSlashRouter
from sendook.api.serializers import (
    ApiModelSerializer,
    ApiSerializer,
    OptionalText,
    StrictBoolean,
    Text,
    Timestamp,
    format_timestamp,
    validate_no_control_chars,
)
from sendook.api.tenancy import get_api_key_model, get_idempotency_model, get_inbox_model
from sendook.api.throttling import (
    ApiRateThrottle,
    BudgetUsage,
    OrgRateThrottle,
    SendRateThrottle,
    parse_rate,
    send_rates,
    spend_budgets,
)
from sendook.api.viewsets import OrgScopedViewSet

__all__ = [
    "API_KEY_PREFIX",
    "SCOPES",
    "ApiClient",
    "ApiKeyAuthentication",
    "ApiModelSerializer",
    "ApiRateThrottle",
    "ApiSerializer",
    "BoundedJSONParser",
    "BudgetUsage",
    "CursorPagination",
    "Forbidden",
    "IdempotencyKeyReused",
    "MissingScope",
    "OptionalSlashRouter",
    "OptionalText",
    "OrgRateThrottle",
    "OrgScopedViewSet",
    "PayloadTooLarge",
    "ScopePermission",
    "SendRateThrottle",
    "StrictBoolean",
    "Text",
    "Timestamp",
    "authenticate_bearer",
    "decode_cursor",
    "encode_cursor",
    "error_body",
    "error_response",
    "exception_handler",
    "fingerprint_of",
    "format_timestamp",
    "generate_api_key_secret",
    "get_api_key_model",
    "get_idempotency_model",
    "get_inbox_model",
    "hash_api_key",
    "idempotent",
    "json_error",
    "parse_rate",
    "replay_cutoff",
    "required_scope",
    "run_once",
    "send_rates",
    "spend_budgets",
    "validate_no_control_chars",
]
