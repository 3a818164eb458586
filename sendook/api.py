"""The API conventions of API.md, in one place, used by every endpoint.

- bearer API-key authentication (`ApiKeyAuthentication`)
- organization scoping (`OrgScopedViewSet`: every row comes through a selector given the org)
- camelCase JSON with `id`/`_id`, millisecond UTC timestamps, unset optionals omitted
  (`ApiModelSerializer` / `ApiSerializer`)
- bare-array lists with cursor pagination and `Link: <…>; rel="next"` (`CursorPagination`)
- one JSON error shape for every error (`exception_handler`)
- per-organization rate limits counted in the cache (`ApiRateThrottle`, `SendRateThrottle`)
- `Idempotency-Key` replay for send-type POSTs (`idempotent`)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, models, transaction
from django.http import Http404, JsonResponse
from django.utils import timezone
from django_ratelimit.core import get_usage
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import BasePagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from inboxes.models import ApiKey, IdempotencyRecord, Organization
from sendook.exceptions import (
    Conflict,
    SendookError,
    ServiceUnavailable,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "sk_"


# --- camelCase serializers ------------------------------------------------------------------


def to_camel(name: str) -> str:
    if name.startswith("_") or "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timestamp(serializers.DateTimeField):
    """ISO 8601 UTC with milliseconds: 2026-11-21T10:00:00.000Z."""

    def to_representation(self, value: datetime | None) -> str | None:
        return format_timestamp(value) if value else None


class CamelCaseMixin:
    """Fields are declared snake_case in Python and appear camelCase on the wire.

    Renaming here (rather than in a renderer) means input, output, validation errors and the
    OpenAPI schema all agree without any per-field work.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        renamed = {}
        for name, field in fields.items():
            camel = to_camel(name)
            if camel != name and field.source is None:
                field.source = name
            renamed[camel] = field
        return renamed

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        # API.md: optional fields that are unset are omitted, not null.
        return {key: value for key, value in data.items() if value is not None}


class OptionalText(serializers.CharField):
    """An output string that is omitted when empty (API.md: unset optionals are omitted, and
    the original's SDK tests check an inbox made without a name has no `name` at all)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return str(value) if value else None


class ApiSerializer(CamelCaseMixin, serializers.Serializer):
    """Input shapes and hand-built outputs."""


class ApiModelSerializer(CamelCaseMixin, serializers.ModelSerializer):
    """Output shapes of model rows: `id` and its compatibility alias `_id` come first."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: Timestamp,
    }
    id = serializers.CharField(source="public_id", read_only=True)
    _id = serializers.CharField(source="public_id", read_only=True)


class Text(serializers.CharField):
    """A string input that is a JSON string: DRF's CharField would quietly turn 5 into "5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def validate_no_control_chars(value: str) -> str:
    """Header values must never carry a line break or NUL (header injection). Line breaks are
    what str.splitlines() breaks on (also \\v, \\f, \\x1c-\\x1e, \\x85, U+2028, U+2029): the
    stdlib's email policy refuses those in a header when the message is built."""
    if "\x00" in value or len(f"a{value}a".splitlines()) > 1 or _encoded_line_break(value):
        raise serializers.ValidationError("Must not contain line breaks or NUL characters.")
    return value


def _encoded_line_break(value: str) -> bool:
    """An RFC 2047 encoded word hiding a line break (`=?utf-8?q?a=0D=0AX-Evil:_1?=`): the
    stdlib decodes those when a header is built (also when the word touches other text) and
    writes the raw CRLF. Decoded here exactly as the email policy that builds our mail does;
    a value that policy cannot decode is refused too."""
    if "=?" not in value:
        return False
    import email.policy

    try:
        decoded = str(email.policy.SMTP.header_factory("X-Sendook-Check", value))
    except Exception:  # the stdlib could not read it either: never let it near a header
        return True
    return "\x00" in decoded or len(f"a{decoded}a".splitlines()) > 1


# --- authentication -------------------------------------------------------------------------


class ApiClient:
    """The authenticated principal of an API request: an organization, through one key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_api_key_secret() -> tuple[str, str, str]:
    """Returns (secret, visible prefix, hash)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:11], hash_api_key(secret)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"
    # Writing last_used_at on every request would turn reads into writes; once a minute is
    # precise enough to tell which keys are in use.
    touch_interval = timedelta(minutes=1)

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret or len(secret) > 200:
            raise drf_exceptions.AuthenticationFailed("Invalid Authorization header")
        try:
            api_key = ApiKey.objects.select_related("organization").get(
                key_hash=hash_api_key(secret), revoked_at__isnull=True
            )
        except ApiKey.DoesNotExist:
            raise drf_exceptions.AuthenticationFailed("Invalid API key") from None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > self.touch_interval:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiClient(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


# --- parsing --------------------------------------------------------------------------------


class PayloadTooLarge(SendookError):
    status_code = 413
    code = "payload_too_large"
    message = "Request body too large"


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser reads the whole stream; this one stops past the configured size."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            return {}
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise drf_exceptions.ParseError("Request body is not valid UTF-8") from None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise drf_exceptions.ParseError(f"Malformed JSON: {exc}") from None
        except RecursionError:
            # json.loads recurses once per nesting level; no request of ours nests that deep.
            raise drf_exceptions.ParseError("Malformed JSON: nested too deeply") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# --- errors ---------------------------------------------------------------------------------


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"to": ["…"], "attachments.1.content": ["…"]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in ("non_field_errors", "detail") and not prefix:
                name = "body"
            fields.update(flatten_errors(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                fields[prefix or "body"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "body"] = [str(detail)]
    return fields


def error_response(
    message: str,
    code: str,
    status_code: int,
    *,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    headers: dict[str, str] = {}
    if request is not None:
        headers.update(getattr(request, "ratelimit_headers", {}))

    if isinstance(exc, SendookError):
        headers.update(exc.headers)
        return error_response(
            exc.message, exc.code, exc.status_code, fields=exc.fields, headers=headers
        )
    if isinstance(exc, (Http404, drf_exceptions.NotFound)):
        return error_response("Not found", "not_found", 404, headers=headers)
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        first_field, messages = next(iter(fields.items()), ("body", ["Invalid request"]))
        message = messages[0] if first_field == "body" else f"{first_field}: {messages[0]}"
        fields.pop("body", None) if first_field != "body" else None
        return error_response(
            message, "validation_error", 400, fields=fields or None, headers=headers
        )
    if isinstance(exc, drf_exceptions.ParseError):
        return error_response(str(exc.detail), "malformed_request", 400, headers=headers)
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        message = (
            "Missing API key"
            if isinstance(exc, drf_exceptions.NotAuthenticated)
            else str(exc.detail)
        )
        headers["WWW-Authenticate"] = 'Bearer realm="sendook"'
        return error_response(message, "unauthorized", 401, headers=headers)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return error_response(str(exc.detail), "method_not_allowed", 405, headers=headers)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return error_response(
            "Content-Type must be application/json", "unsupported_media_type", 415, headers=headers
        )
    if isinstance(exc, drf_exceptions.Throttled):
        # Raised by our throttles; headers were attached to the request when they ran.
        wait = int(exc.wait or 1)
        headers.setdefault("Retry-After", str(max(wait, 1)))
        return error_response("Rate limit exceeded", "rate_limited", 429, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return error_response("Request body too large", "payload_too_large", 413, headers=headers)
    if isinstance(exc, drf_exceptions.APIException):
        return error_response(
            str(exc.detail), str(exc.default_code), exc.status_code, headers=headers
        )
    if isinstance(exc, DataError):
        # A value the database refuses (NUL bytes, out-of-range numbers) is the client's input.
        return error_response("Invalid value in request", "invalid_value", 400, headers=headers)
    if isinstance(exc, DatabaseError):
        logger.exception("database error while handling %s", request and request.path)
        headers["Retry-After"] = "5"
        error = ServiceUnavailable()
        return error_response(error.message, error.code, 503, headers=headers)
    logger.exception("unhandled error while handling %s", request and request.path)
    return error_response("Internal server error", "internal_error", 500, headers=headers)


def json_error(message: str, code: str, status_code: int) -> JsonResponse:
    """For plain Django views under /v1 (unknown routes, handler400/500)."""
    return JsonResponse({"error": message, "code": code}, status=status_code)


# --- rate limits ----------------------------------------------------------------------------

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "100/h" → (100, 3600); "5/10m" → (5, 600)."""
    match = _RATE_RE.match(rate)
    if not match:
        raise ValueError(f"Invalid rate {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _PERIODS[unit]


def _org_key(group: str, request: Any) -> str:
    return request.auth.organization.public_id


class OrgRateThrottle(BaseThrottle):
    """A per-organization budget counted by django-ratelimit in the shared cache.

    A cache outage must not turn requests into 500s, so the check fails open (and logs).
    """

    group = ""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        self.wait_seconds = 0
        for group, rate in self.rates(request.auth.organization):
            try:
                usage = get_usage(request, group=group, key=_org_key, rate=rate, increment=True)
            except Exception:
                logger.warning("rate limit cache unavailable; allowing request", exc_info=True)
                continue
            if not usage:
                continue
            limit, period = parse_rate(rate)
            remaining = max(0, limit - usage["count"])
            reset = max(0, int(usage["time_left"]))
            request.ratelimit_headers = {  # type: ignore[attr-defined]
                "RateLimit": f"limit={limit}, remaining={remaining}, reset={reset}",
                "RateLimit-Policy": f"{limit};w={period}",
            }
            if usage["should_limit"]:
                self.wait_seconds = max(reset, 1)
                request.ratelimit_headers["Retry-After"] = str(self.wait_seconds)  # type: ignore[attr-defined]
                return False
        return True

    def wait(self) -> float:
        return float(self.wait_seconds)


class ApiRateThrottle(OrgRateThrottle):
    """Every authenticated request counts against SENDOOK_API_RATE_LIMIT."""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        return [("api", settings.SENDOOK_API_RATE_LIMIT)]


class SendRateThrottle(OrgRateThrottle):
    """Send-type POSTs share an hourly budget and a daily cap per organization."""

    def rates(self, organization: Organization) -> list[tuple[str, str]]:
        rate = organization.send_rate_limit or settings.SENDOOK_SEND_RATE_LIMIT
        cap = organization.daily_send_cap or settings.SENDOOK_DAILY_SEND_CAP
        return [("send", rate), ("send-daily", f"{cap}/d")]


# --- pagination -----------------------------------------------------------------------------


class CursorPagination(BasePagination):
    """Bare JSON arrays in a stable order, with an opaque keyset cursor.

    Views list newest first by primary key (creation order). A view may set
    `ordering_field = "last_message_at"` to order by that column (ties broken by primary key),
    or `newest_first = False` (the event feed) to list oldest first.
    """

    default_limit = 50
    max_limit = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        limit = self.get_limit(request)
        newest_first = getattr(view, "newest_first", True)
        field = getattr(view, "ordering_field", None)
        cursor = request.query_params.get("cursor")
        op = "lt" if newest_first else "gt"
        if cursor:
            kind = None
            if field:
                column = queryset.model._meta.get_field(field)
                kind = datetime if isinstance(column, models.DateTimeField) else int
            value, pk = decode_cursor(cursor, kind=kind)
            if field:
                queryset = queryset.filter(
                    models.Q(**{f"{field}__{op}": value})
                    | models.Q(**{field: value, f"pk__{op}": pk})
                )
            else:
                queryset = queryset.filter(**{f"pk__{op}": pk})
        sign = "-" if newest_first else ""
        order = [f"{sign}{field}", f"{sign}pk"] if field else [f"{sign}pk"]
        rows = list(queryset.order_by(*order)[: limit + 1])
        self.request = request
        self.next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            # Rows are models, or dicts from .values() with a "pk" key (the message list).
            if isinstance(last, dict):
                value, pk = last.get(field) if field else None, last["pk"]
            else:
                value, pk = getattr(last, field) if field else None, last.pk
            self.next_cursor = encode_cursor(value, pk)
        return rows[:limit]

    def get_limit(self, request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None or raw == "":
            return self.default_limit
        try:
            limit = int(raw)
        except ValueError:
            raise ValidationFailed.for_field("limit", "Must be an integer.") from None
        if limit < 1:
            raise ValidationFailed.for_field("limit", "Must be at least 1.")
        return min(limit, self.max_limit)

    def get_paginated_response(self, data: Any) -> Response:
        headers = {}
        if self.next_cursor:
            # A plain dict of lists, in the same order: QueryDict.copy() deep-copies.
            params = dict(self.request.query_params.lists())
            params["cursor"] = [self.next_cursor]
            url = (
                self.request.build_absolute_uri(self.request.path)
                + "?"
                + urlencode(list(params.items()), doseq=True)
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size (default {self.default_limit}, max {self.max_limit}).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": 'Opaque cursor from the previous page\'s Link rel="next" header.',
                "schema": {"type": "string"},
            },
        ]


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The largest primary key PostgreSQL's bigint holds: past it, a forged cursor is refused here
# instead of overflowing in the database.
_MAX_PK = 2**63 - 1


def decode_cursor(cursor: str, *, kind: type | None = None) -> tuple[Any, int]:
    """The (value, pk) a cursor of `encode_cursor` holds. Anything else, forged or damaged,
    is a 400 naming the parameter: `kind` is the type of the ordering column's value
    (datetime, int), None for a list ordered by primary key alone."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk <= _MAX_PK:
            raise ValueError(pk)
        if kind is datetime:
            if not isinstance(value, str):
                raise ValueError(value)
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError(value)
            value.astimezone(UTC)  # an offset that leaves datetime's range overflows
        elif kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _MAX_PK:
                raise ValueError(value)
        elif value is not None:
            raise ValueError(value)
        return value, pk
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise ValidationFailed.for_field(
            "cursor", "Invalid cursor.", code="invalid_cursor"
        ) from None


# --- idempotency ----------------------------------------------------------------------------


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request"


def idempotent(
    request: Request, organization: Organization, handler: Callable[[], Response]
) -> Response:
    """Run `handler` once per Idempotency-Key; a replay gets the stored response.

    The key row is written in the same transaction as whatever the handler writes, so either
    both exist or neither does; a concurrent duplicate loses on the unique constraint and
    replays the winner's response.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.for_field("Idempotency-Key", "Must be 1 to 255 characters.")
    fingerprint = hashlib.sha256(
        json.dumps(
            [request.method, request.path, request.data], sort_keys=True, default=str
        ).encode()
    ).hexdigest()
    ttl = timedelta(hours=settings.SENDOOK_IDEMPOTENCY_TTL_HOURS)

    def replay(record: IdempotencyRecord) -> Response:
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return Response(
            record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"}
        )

    records = IdempotencyRecord.objects.filter(organization=organization, key=key)
    existing = records.first()
    if existing is not None:
        if existing.created_at > timezone.now() - ttl:
            return replay(existing)
        existing.delete()
    try:
        with transaction.atomic():
            response = handler()
            if status.is_success(response.status_code):
                IdempotencyRecord.objects.create(
                    organization=organization,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    response=response.data,
                )
    except IntegrityError:
        winner = records.first()
        if winner is None:
            raise
        return replay(winner)
    return response


# --- viewsets -------------------------------------------------------------------------------


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Base of every /v1 resource: auth, organization scope, pagination, rate limits.

    Subclasses provide `list_rows(organization)` (a queryset) and `get_row(organization, id)`
    (raising the resource's not-found error), both thin calls into the app's selectors.
    """

    authentication_classes = [ApiKeyAuthentication]
    pagination_class = CursorPagination
    throttle_classes = [ApiRateThrottle]
    parser_classes = [BoundedJSONParser]
    lookup_url_kwarg = "id"
    # Ids are prefixed ULIDs and domains are names; anything else falls through to the JSON 404.
    lookup_value_regex = r"[A-Za-z0-9._@-]{1,255}"
    newest_first = True

    @property
    def organization(self) -> Organization:
        return self.request.auth.organization

    def list_rows(self, organization: Organization) -> Any:
        raise NotImplementedError

    def get_row(self, organization: Organization, row_id: str) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.list_rows(self.organization)

    def get_object(self) -> Any:
        return self.get_row(self.organization, self.kwargs[self.lookup_url_kwarg])

    def respond(
        self, instance: Any, status_code: int = 200, *, serializer_class: Any = None
    ) -> Response:
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(
            serializer_class(instance, context=self.get_serializer_context()).data,
            status=status_code,
        )

    def validated(self, serializer_class: Any, *, partial: bool = False) -> dict[str, Any]:
        data = self.request.data
        if not isinstance(data, dict):
            raise ValidationFailed("Request body must be a JSON object", code="validation_error")
        serializer = serializer_class(
            data=data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object())

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        for header, value in getattr(request, "ratelimit_headers", {}).items():
            response.headers.setdefault(header, value)
        return super().finalize_response(request, response, *args, **kwargs)
