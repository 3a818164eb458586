"""Reading messages: list_messages, search_messages, get_message (scope messages:read), as
GET /v1/inboxes/{id}/messages (?query= is the search) and …/messages/{id}."""

from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api.filters import MessageListFilter, validated_filters
from messages.api.serializers import (
    MessageDetailSerializer,
    MessageListItemSerializer,
    MessageSummarySerializer,
)
from messages.mcp_server.calls import listing, page, query, run_tool, visible_inbox
from messages.mcp_server.tools import READ
from messages.mcp_server.tools.args import Cursor, InboxId, Labels, Limit, MessageId
from sendook.api import ApiClient

SEARCH_SYNTAX = (
    "Plain words match subject, text, from, to, cc and labels (case-insensitive); "
    '"a phrase", -word (exclude), OR between alternatives; operators from:alice, to:bob, '
    'subject:"quarterly report", label:urgent, has:attachment, before:2026-01-31, '
    "after:2026-01-01, is:sent, is:received, is:read, is:unread (prefix - to negate, e.g. "
    "-label:spam). An unknown operator or a bad date is an invalid_query error."
)

View = Annotated[
    Literal["summary", "full"],
    Field(
        description="summary (default): each message with a preview instead of its bodies; "
        "full: with text and html."
    ),
]
When = Annotated[str, Field(description="ISO 8601 date or date-time (UTC if no offset).")]


def message_list(
    client: ApiClient,
    inbox_id: str,
    *,
    query_text: str | None,
    labels: list[str] | None,
    before: str | None,
    after: str | None,
    view: str,
    limit: int | None,
    cursor: str | None,
) -> dict:
    """MessageViewSet.list: the same filters and search, validated by the same serializer."""
    inbox = visible_inbox(client, inbox_id)
    filters = validated_filters(
        MessageListFilter,
        query(view=view, query=query_text, labels=labels, before=before, after=after),
    )
    rows = selectors.list_messages(
        inbox,
        bodies=filters["view"] != "summary",
        query=filters["query"],
        labels=filters["labels"],
        before=filters["before"],
        after=filters["after"],
    )
    items, next_cursor = page(rows, limit=limit, cursor=cursor)
    items = selectors.complete_message_rows(inbox, items)
    serializer = (
        MessageSummarySerializer if filters["view"] == "summary" else (MessageListItemSerializer)
    )
    return listing("messages", serializer(items, many=True).data, next_cursor)


def message_detail(client: ApiClient, inbox_id: str, message_id: str) -> dict:
    message = selectors.get_message(visible_inbox(client, inbox_id), message_id)
    return MessageDetailSerializer(message).data


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=READ)
    async def list_messages(
        inboxId: InboxId,
        labels: Annotated[
            Labels | None, Field(description="Only messages with all of these.")
        ] = None,
        before: When | None = None,
        after: When | None = None,
        view: View = "summary",
        limit: Limit | None = None,
        cursor: Cursor | None = None,
    ) -> CallToolResult:
        """List an inbox's messages (received and sent), newest first. Returns {"messages":
        [Message], "nextCursor"?}; a Message has id, threadId, from, to, cc, subject,
        preview, labels, direction (inbound|outbound), status, createdAt. Read one in full
        with get_message."""
        return await run_tool(
            "messages:read",
            lambda c: message_list(
                c,
                inboxId,
                query_text=None,
                labels=labels,
                before=before,
                after=after,
                view=view,
                limit=limit,
                cursor=cursor,
            ),
        )

    @mcp.tool(annotations=READ)
    async def search_messages(
        inboxId: InboxId,
        query: Annotated[str, Field(description=SEARCH_SYNTAX)],
        view: View = "summary",
        limit: Limit | None = None,
        cursor: Cursor | None = None,
    ) -> CallToolResult:
        """Search an inbox's messages with Sendook's search syntax (see the query argument),
        newest first. Returns {"messages": [Message], "nextCursor"?} like list_messages."""
        return await run_tool(
            "messages:read",
            lambda c: message_list(
                c,
                inboxId,
                query_text=query,
                labels=None,
                before=None,
                after=None,
                view=view,
                limit=limit,
                cursor=cursor,
            ),
        )

    @mcp.tool(annotations=READ)
    async def get_message(inboxId: InboxId, messageId: MessageId) -> CallToolResult:
        """One message in full. Returns the Message: from, to, cc, bcc, subject, text, html,
        labels, attachments (with base64 content), threadId, inReplyTo, direction, status,
        authentication and trust (for received mail: how far the sender can be believed),
        createdAt."""
        return await run_tool("messages:read", lambda c: message_detail(c, inboxId, messageId))
