"""The bearer API key in front of /mcp: the same keys, scopes and inbox limits as /v1.

`require_api_key(app)` wraps the SDK's streamable HTTP handler. A request without a valid
`Authorization: Bearer sk_…` never reaches the MCP server: it gets the API's 401 JSON body and
`WWW-Authenticate: Bearer`. An authenticated request runs with its key as `current_client()`
(a context variable: the SDK runs each stateless request's server in a task started from this
request, so the task sees it, and nothing else does).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError
from rest_framework.exceptions import AuthenticationFailed
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from messages.mcp_server.sync import run_sync
from sendook.api import ApiClient, authenticate_bearer
from sendook.api.auth import Unauthorized
from sendook.api.errors import send_error, send_json
from sendook.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

JSON = "application/json"

_client: ContextVar[ApiClient | None] = ContextVar("sendook_mcp_client", default=None)


def current_client() -> ApiClient:
    """The API key of the MCP request being served."""
    client = _client.get()
    if client is None:  # only reachable if a tool ran outside require_api_key
        raise AuthenticationFailed("Missing API key")
    return client


async def _rpc_error(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    await send_json(send, status, body, headers)


def _refused_body(scope: Scope) -> tuple[int, str] | None:
    """What the SDK refuses in plain text (a wrong Content-Type, a declared length past the
    limit), refused here as JSON-RPC errors instead. A chunked body past the limit is still
    cut off by the SDK itself."""
    headers = Headers(scope=scope)
    if headers.get("content-type", "").split(";")[0].strip() != JSON:
        return 415, "Unsupported Media Type: Content-Type must be " + JSON
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return 413, f"Request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"
    return None


def require_api_key(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # websocket: not an MCP transport; the server closes it
        header = Headers(scope=scope).get("authorization", "")
        if not header:
            await send_error(send, Unauthorized())
            return
        try:
            client = await run_sync(lambda: authenticate_bearer(header))
        except AuthenticationFailed as exc:
            await send_error(send, Unauthorized(str(exc.detail)))
            return
        except DatabaseError:
            # The key cannot be checked: the API's 503, not a 500.
            logger.exception("database error while authenticating an MCP request")
            await send_error(send, ServiceUnavailable(headers={"Retry-After": "5"}))
            return
        if scope["method"] == "GET":
            # Stateless: there is no session for a server-to-client stream to belong to,
            # and an open GET would only hold a connection. MCP allows refusing it.
            await _rpc_error(send, 405, "Method Not Allowed: POST only", {"allow": "POST"})
            return
        if scope["method"] == "POST" and (refusal := _refused_body(scope)):
            await _rpc_error(send, *refusal)
            return
        token = _client.set(client)
        try:
            await app(scope, receive, send)
        finally:
            _client.reset(token)

    return guarded
