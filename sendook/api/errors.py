"""One JSON error shape for every error: `{"error", "message", "code"}`, plus `"fields"` naming
the inputs to blame. `message` repeats `error`: the original Sendook's clients read it (its
published MCP server, sendook-mcp, shows an agent `message` and nothing else of the body).
`error_body` builds it; DRF views render it through `exception_handler`, plain Django views
(error pages, provider webhooks, the JSON errors middleware) through `json_error`, and the
raw ASGI apps of the ASGI process (the event stream, /mcp) through `send_error`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from sendook.exceptions import SendookError, ServiceUnavailable

logger = logging.getLogger(__name__)


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


def error_body(
    message: str, code: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "message": message, "code": code}
    if fields:
        body["fields"] = fields
    return body


def error_response(
    message: str,
    code: str,
    status_code: int,
    *,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(message, code, fields), status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    headers: dict[str, str] = {}
    if request is not None:
        headers.update(getattr(request, "ratelimit_headers", {}))

    if isinstance(exc, SendookError):
        headers.update(exc.headers)
        response = error_response(
            exc.message, exc.code, exc.status_code, fields=exc.fields, headers=headers
        )
        response.data.update(exc.extra)
        return response
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


def error_json(error: SendookError) -> JsonResponse:
    """A SendookError as the API's error response from a plain Django view."""
    body = error_body(error.message, error.code, error.fields)
    body.update(error.extra)
    response = JsonResponse(body, status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    return response


def json_error(
    message: str,
    code: str,
    status_code: int,
    *,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """The error body from a plain Django view, outside DRF's exception handling."""
    response = JsonResponse(error_body(message, code, fields), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]


async def send_json(
    send: AsgiSend, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """A whole JSON response over a raw ASGI `send`."""
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(payload)),
    ]
    raw_headers += [
        (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: AsgiSend, error: SendookError) -> None:
    """A SendookError as the API's error response, from a raw ASGI app."""
    body = error_body(error.message, error.code, error.fields)
    body.update(error.extra)
    await send_json(send, error.status_code, body, error.headers)
