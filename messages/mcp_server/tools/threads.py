"""Reading threads: list_threads, get_thread, get_thread_context (scope messages:read), as
GET /v1/inboxes/{id}/threads, …/threads/{id} and …/threads/{id}/context."""

from collections.abc import Sequence
from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api.context import max_chars_limit
from messages.api.filters import IncludeFilter, validated_filters
from messages.api.serializers import ThreadDetailSerializer, ThreadSerializer
from messages.api.threads import ThreadListFilter
from messages.mcp_server.calls import listing, org, page, query, run_tool, visible_inbox
from messages.mcp_server.tools import READ
from messages.mcp_server.tools.args import Cursor, InboxId, Limit, ThreadId
from messages.services.context import thread_context, transcript
from sendook.api import ApiClient
from sendook.exceptions import ValidationFailed

# ThreadStatus's values (a test keeps them in step), spelled out for the schema.
Status = Literal["open", "pending", "snoozed", "closed"]


def thread_list(
    client: ApiClient,
    inbox_id: str,
    *,
    status: Sequence[str] | None,
    assignee: str | None,
    label: str | None,
    include_blocked: bool,
    limit: int | None,
    cursor: str | None,
) -> dict:
    """ThreadViewSet.list: the same filters, validated by the same serializer."""
    inbox = visible_inbox(client, inbox_id)
    params = query(
        status=",".join(status) if status else None,
        assignee=assignee,
        label=label,
        include="blocked" if include_blocked else None,
    )
    filters = validated_filters(ThreadListFilter, params)
    blocked = "blocked" in validated_filters(IncludeFilter, params)["include"]
    wanted = filters.get("assignee")
    who = selectors.UNFILTERED
    if wanted == "me":
        who = client.api_key
    elif wanted == "none":
        who = "none"
    elif wanted is not None:
        who = selectors.get_assignee(org(client), wanted)
    rows = selectors.list_threads(
        org(client),
        inbox=inbox,
        with_message_ids=True,
        status=filters["status"] or None,
        assignee=who,
        label=filters.get("label"),
        include_blocked=blocked,
    )
    items, next_cursor = page(rows, limit=limit, cursor=cursor, ordering_field="last_message_at")
    return listing("threads", ThreadSerializer(items, many=True).data, next_cursor)


def thread_detail(client: ApiClient, inbox_id: str, thread_id: str) -> dict:
    inbox = visible_inbox(client, inbox_id)
    thread = selectors.get_thread(org(client), thread_id, inbox=inbox, with_messages=True)
    return ThreadDetailSerializer(thread).data


def context_view(client: ApiClient, inbox_id: str, thread_id: str, max_chars: int | None) -> dict:
    limit = max_chars_limit()
    if max_chars is not None and max_chars > limit:
        raise ValidationFailed.for_field(
            "maxChars", f"Must be a whole number from 0 to {limit}, not {max_chars!r}."
        )
    inbox = visible_inbox(client, inbox_id)
    thread = selectors.get_thread(org(client), thread_id, inbox=inbox)
    return thread_context(thread, max_chars=limit if max_chars is None else max_chars)


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=READ)
    async def list_threads(
        inboxId: InboxId,
        status: Annotated[
            list[Status] | None,
            Field(description="Only threads in these statuses (any of them)."),
        ] = None,
        assignee: Annotated[
            str | None,
            Field(
                description="me (this API key), none (unassigned), a member id (user_…) or "
                "an API key id (key_…)."
            ),
        ] = None,
        label: Annotated[str | None, Field(description="Only threads carrying this label.")] = None,
        includeBlocked: Annotated[
            bool, Field(description="Also threads held back by a receive block list.")
        ] = False,
        limit: Limit | None = None,
        cursor: Cursor | None = None,
    ) -> CallToolResult:
        """List an inbox's conversations, most recent activity first. Returns {"threads":
        [Thread], "nextCursor"?}; a Thread has id, subject, participants, labels, status
        (open|pending|snoozed|closed), assignee, messageCount, lastMessageId,
        lastMessageAt, preview and its message ids. Read one with get_thread or
        get_thread_context."""
        return await run_tool(
            "messages:read",
            lambda c: thread_list(
                c,
                inboxId,
                status=status,
                assignee=assignee,
                label=label,
                include_blocked=includeBlocked,
                limit=limit,
                cursor=cursor,
            ),
        )

    @mcp.tool(annotations=READ)
    async def get_thread(inboxId: InboxId, threadId: ThreadId) -> CallToolResult:
        """One thread with every message in it, oldest first. Returns the Thread with
        "messages": [Message] (full messages: from, to, cc, subject, text, html, labels,
        attachments, status, direction inbound|outbound, createdAt)."""
        return await run_tool("messages:read", lambda c: thread_detail(c, inboxId, threadId))

    @mcp.tool(annotations=READ)
    async def get_thread_context(
        inboxId: InboxId,
        threadId: ThreadId,
        maxChars: Annotated[
            int | None,
            Field(ge=0, description="Bound on the total text; the oldest messages' go first."),
        ] = None,
    ) -> CallToolResult:
        """Read a thread as an agent should: each message's new text only (quoted replies and
        signatures removed), attachments' extracted text, and how far each sender can be
        trusted, within maxChars. Returns a transcript to read as text; the structured
        content is {threadId, subject, participants, messages: [{id, direction, from, to, at,
        text, attachments, trust}], truncated}."""
        return await run_tool(
            "messages:read",
            lambda c: context_view(c, inboxId, threadId, maxChars),
            text=transcript,
        )
