"""The MCP server: FastMCP (the official SDK) over streamable HTTP, stateless, behind the
bearer API key.

`mcp_app` is the ASGI app sendook/asgi.py routes /mcp to; `mcp_lifespan()` runs the SDK's
session manager (its task group) for the process's lifetime and goes in the ASGI LIFESPAN.

Stateless (`stateless_http=True`): every POST is a whole exchange with a fresh transport and
no session to remember, so any process of a multi-machine deployment can answer any request,
and a restart loses nothing. Responses are SSE (the SDK's default), so a long
wait_for_message is kept alive by the SDK's pings through proxies.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import pydantic
from django.conf import settings
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, ContentBlock, Icon, ToolAnnotations

from messages.mcp_server.auth import require_api_key
from messages.mcp_server.calls import arguments_error, error_of, error_result
from messages.mcp_server.resources import register_resources
from messages.mcp_server.tools import register_tools

INSTRUCTIONS = """\
Sendook is an email platform for agents. Start with list_inboxes: each inbox has an id \
(inbox_…) and an email address. Read mail with list_threads, get_thread_context (a thread as \
you should read it: new text only, quotes removed, sender trust) and search_messages; wait for \
new mail with wait_for_message. Send with send_message, reply_to_message, reply_all and \
forward_message: a send may come back pending_approval when the inbox's send policy wants a \
person to approve it; that is not an error. Pass expectedLastMessageId when replying so you \
never answer a thread that changed under you, and an idempotencyKey when you may retry. Errors \
start with a code (e.g. forbidden, inbox_not_found, thread_changed, rate_limited)."""


class SendookMCP(FastMCP):
    """FastMCP whose refusals of a call (arguments its schema does not take, an unknown tool)
    are tool errors with a code, like the errors the tools themselves return, and whose tool
    descriptions are their docstrings unwrapped."""

    def add_tool(
        self,
        fn: Any,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        # Docstrings are wrapped for the source; a model reads the description as one text.
        text = " ".join((description or inspect.getdoc(fn) or "").split())
        super().add_tool(fn, name, title, text, annotations, icons, meta, structured_output)

    # The SDK's low-level server takes a CallToolResult as it is (our errors are ones).
    async def call_tool(  # type: ignore[override]
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any] | CallToolResult:
        try:
            return await super().call_tool(name, arguments)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, pydantic.ValidationError):
                return arguments_error(cause)
            if cause is None and self._tool_manager.get_tool(name) is None:
                return error_result({"error": f"Unknown tool: {name}", "code": "unknown_tool"})
            return error_of(cause if isinstance(cause, Exception) else exc)


def build_server() -> FastMCP:
    server = SendookMCP(
        name="Sendook",
        instructions=INSTRUCTIONS,
        stateless_http=True,
        streamable_http_path="/mcp",
        max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        # Host/Origin checks guard servers that trust whoever can reach them (DNS rebinding);
        # every request here carries its own bearer key, which a rebinding page cannot send.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    register_tools(server)
    register_resources(server)
    # Creates the session manager; its handler is served directly (below), not Starlette's
    # routing, so /mcp answers wherever the dispatcher mounts it.
    server.streamable_http_app()
    return server


server = build_server()
mcp_app = require_api_key(server.session_manager.handle_request)


def mcp_lifespan() -> AbstractAsyncContextManager[None]:
    return server.session_manager.run()
