"""list_inboxes, get_inbox: GET /v1/inboxes and /v1/inboxes/{id} (scope inboxes:read)."""

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult

from inboxes.selectors import list_inboxes
from inboxes.serializers import InboxSerializer
from messages.mcp_server.calls import listing, org, page, run_tool, visible_inbox
from messages.mcp_server.tools import READ
from messages.mcp_server.tools.args import Cursor, InboxId, Limit
from sendook.api import ApiClient


def inbox_list(client: ApiClient, *, limit: int | None = None, cursor: str | None = None) -> dict:
    rows = list_inboxes(org(client), inbox_ids=client.inbox_ids).select_related(
        "domain", "organization"
    )
    items, next_cursor = page(rows, limit=limit, cursor=cursor)
    return listing("inboxes", InboxSerializer(items, many=True).data, next_cursor)


def register(mcp: FastMCP) -> None:
    @mcp.tool(name="list_inboxes", annotations=READ)
    async def list_inboxes_tool(
        limit: Limit | None = None, cursor: Cursor | None = None
    ) -> CallToolResult:
        """List the inboxes this API key can use, newest first. Returns {"inboxes": [Inbox],
        "nextCursor"?}; each Inbox has id (inbox_…), email, name, sendPolicy
        ({approval, holdSeconds}) and sendingPaused. Use an inbox's id as inboxId in the
        other tools."""
        return await run_tool("inboxes:read", lambda c: inbox_list(c, limit=limit, cursor=cursor))

    @mcp.tool(annotations=READ)
    async def get_inbox(inboxId: InboxId) -> CallToolResult:
        """One inbox by id. Returns the Inbox: id, email, name, sendPolicy ({approval:
        never|first_contact|external|always, holdSeconds}: whether your sends wait for a
        person's approval) and sendingPaused."""
        return await run_tool(
            "inboxes:read", lambda c: InboxSerializer(visible_inbox(c, inboxId)).data
        )
