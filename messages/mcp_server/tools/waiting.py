"""wait_for_message (scope messages:read): return as soon as new mail arrives in an inbox.

It waits on this process's event hub (sendook.events.stream: the same committed event log the
SSE stream and webhooks serve, woken through Redis or polling), not by polling the database
itself, and holds no thread while it waits. The order of steps closes the race with mail that
arrives while the call starts: the hub's head is taken first, then mail already there after
`after` is looked for, then the hub is followed from that head, so a message committed at
any moment is either found by the lookup or announced by the hub.
"""

import time
from functools import partial
from typing import Annotated

from django.conf import settings
from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api.serializers import MessageDetailSerializer
from messages.mcp_server.auth import current_client
from messages.mcp_server.calls import error_of, org, run_tool, tool_result, visible_inbox
from messages.mcp_server.sync import run_sync
from messages.mcp_server.tools import READ
from messages.mcp_server.tools.args import InboxId
from messages.models import Message
from sendook.api import ApiClient
from sendook.events.stream import StreamOverflow, get_hub
from sendook.exceptions import ValidationFailed

RECEIVED = "message.received"
TIMED_OUT = {"message": None, "timedOut": True}
WAIT_MAX = settings.SENDOOK_MCP_WAIT_MAX_SECONDS
DEFAULT_WAIT = min(30, WAIT_MAX)


def _check(client: ApiClient, inbox_id: str, timeout: float) -> int:
    """The organization's pk, once the inbox is visible and the timeout allowed."""
    limit = settings.SENDOOK_MCP_WAIT_MAX_SECONDS
    if timeout > limit:
        raise ValidationFailed.for_field(
            "timeoutSeconds", f"At most {limit} seconds; call again to wait longer."
        )
    visible_inbox(client, inbox_id)
    return org(client).pk


def _received_after(client: ApiClient, inbox_id: str, after: str) -> dict | None:
    """The first received message of the inbox after message `after`, if there is one."""
    inbox = visible_inbox(client, inbox_id)
    seen = selectors.get_message(inbox, after)
    rows = selectors.list_messages(inbox).filter(
        direction=Message.Direction.INBOUND, pk__gt=seen.pk
    )
    first = rows.order_by("pk").values_list("public_id", flat=True).first()
    return None if first is None else _found(client, inbox_id, first)


def _found(client: ApiClient, inbox_id: str, message_id: str) -> dict:
    message = selectors.get_message(visible_inbox(client, inbox_id), message_id)
    return {"message": MessageDetailSerializer(message).data, "timedOut": False}


async def wait(client: ApiClient, inbox_id: str, after: str | None, timeout: float) -> dict:
    org_pk = await run_sync(lambda: _check(client, inbox_id, timeout))
    hub = get_hub()
    head = await hub.head(org_pk)
    if after is not None:
        found = await run_sync(lambda: _received_after(client, inbox_id, after))
        if found is not None:
            return found
    deadline, after_seq = time.monotonic() + timeout, head
    while time.monotonic() < deadline:
        async with hub.listen(org_pk, after_seq=after_seq) as listener:
            try:
                while (left := deadline - time.monotonic()) > 0:
                    for item in await listener.next(left):
                        if item.type == RECEIVED and item.inbox_id == inbox_id and item.message_id:
                            load = partial(_found, client, inbox_id, item.message_id)
                            return await run_sync(load)
            except StreamOverflow:
                # Cut off behind a burst of the organization's events: listen again from the
                # last one read (the hub catches up from the database), missing none.
                after_seq = listener.last_seq
    return TIMED_OUT


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=READ)
    async def wait_for_message(
        inboxId: InboxId,
        after: Annotated[
            str | None,
            Field(
                description="The id (msg_…) of the last message you have seen: a message "
                "received after it returns at once, so nothing that arrived between two "
                "calls is missed. Without it, only mail arriving during the call counts."
            ),
        ] = None,
        timeoutSeconds: Annotated[
            float,
            Field(gt=0, description=f"How long to wait, at most {WAIT_MAX} seconds."),
        ] = DEFAULT_WAIT,
    ) -> CallToolResult:
        """Wait until a new email is received in an inbox and return it, as soon as it
        arrives. Returns {"message": Message, "timedOut": false} (the full received message),
        or {"message": null, "timedOut": true} when nothing arrived within timeoutSeconds:
        then call again to keep waiting."""
        checked = await run_tool("messages:read", lambda c: {})  # scope and budget, as any call
        if checked.isError:
            return checked
        try:
            data = await wait(current_client(), inboxId, after, timeoutSeconds)
        except Exception as exc:  # the edge of a tool call, as in run_tool
            return error_of(exc)
        return tool_result(data)
