"""Resources: what an MCP client may attach to a conversation as context.

- `sendook://inboxes`: the inboxes this key can use (the list_inboxes JSON).
- `sendook://threads/{threadId}`: a thread with its messages (the get_thread JSON). Thread
  ids are unique across organizations (prefixed ULIDs), so a thread needs no inbox in its URI:
  it is looked up in the key's organization and, for a key limited to some inboxes, only in
  those; anything else is "Thread not found", as on /v1.

A refusal (missing scope, not found) is a JSON-RPC error whose message starts with the API's
`code`, as tool errors do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ResourceError

from messages import selectors
from messages.api.serializers import ThreadDetailSerializer
from messages.exceptions import ThreadNotFound
from messages.mcp_server.auth import current_client
from messages.mcp_server.calls import org
from messages.mcp_server.sync import run_sync
from messages.mcp_server.tools.inboxes import inbox_list
from sendook.api import ApiClient, MissingScope
from sendook.exceptions import SendookError


async def _read(scope: str, work: Callable[[ApiClient], Any]) -> str:
    client = current_client()
    try:
        if scope not in client.scopes:
            raise MissingScope(scope)
        return json.dumps(await run_sync(lambda: work(client)), ensure_ascii=False)
    except SendookError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}") from exc


def thread_of(client: ApiClient, thread_id: str) -> dict:
    thread = selectors.get_thread(org(client), thread_id, with_messages=True)
    if client.inbox_ids is not None and thread.inbox.public_id not in client.inbox_ids:
        raise ThreadNotFound()
    return ThreadDetailSerializer(thread).data


def register_resources(mcp: FastMCP) -> None:
    @mcp.resource(
        "sendook://inboxes",
        name="inboxes",
        description="The inboxes this API key can use (up to 50, newest first).",
        mime_type="application/json",
    )
    async def inboxes() -> str:
        return await _read("inboxes:read", inbox_list)

    @mcp.resource(
        "sendook://threads/{threadId}",
        name="thread",
        description="A thread with all its messages, oldest first (the get_thread JSON).",
        mime_type="application/json",
    )
    async def thread(threadId: str) -> str:
        return await _read("messages:read", lambda client: thread_of(client, threadId))
