"""send_message, reply_to_message, reply_all, forward_message (scope messages:send): the REST
send actions (messages/api/viewsets.py) through the one send service, so the inbox's send
policy (holds: status pending_approval), the send budgets, suppressions, collision checks and
Idempotency-Key records all apply as they do on /v1."""

from typing import Annotated, Any

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api import sending
from messages.api.serializers import ForwardInput, MessageSerializer, ReplyInput, SendInput
from messages.mcp_server.calls import body_of, once, run_tool, validated, visible_inbox
from messages.mcp_server.tools import SEND
from messages.mcp_server.tools.args import (
    Addresses,
    Attachments,
    ExpectedLastMessageId,
    Html,
    IdempotencyKey,
    InboxId,
    Labels,
    SendAt,
    Text,
)
from messages.services import send as outbound
from messages.services.provenance import api_key_actor
from sendook.api import ApiClient

RETURNS = (
    "Returns the new Message; its status says what happens next: queued (going now), "
    "scheduled (sendAt, or the inbox's undo window holdSeconds) or pending_approval (held "
    "by the inbox's send policy until a person approves it; hold says why). Nothing is sent "
    "twice for one idempotencyKey."
)


def sender_of(client: ApiClient, data: dict[str, Any]) -> outbound.Sender:
    """messages.api.viewsets.sender_of, for a key that is not in a DRF request."""
    return outbound.Sender(
        created_by=api_key_actor(client.api_key),
        api_key=client.api_key,
        send_at=data.get("send_at"),
    )


def send(client: ApiClient, inbox_id: str, key: str | None, body: dict[str, Any]) -> dict:
    inbox = visible_inbox(client, inbox_id)

    def handler() -> dict:
        data = validated(SendInput, body)
        message = sending.send_new(inbox, data, sender=sender_of(client, data))
        return MessageSerializer(message).data

    return once(client, key, f"/v1/inboxes/{inbox_id}/messages/send", body, handler)


def reply(
    client: ApiClient,
    inbox_id: str,
    message_id: str,
    key: str | None,
    body: dict[str, Any],
    *,
    reply_all: bool,
) -> dict:
    inbox = visible_inbox(client, inbox_id)
    action = "reply-all" if reply_all else "reply"

    def handler() -> dict:
        parent = selectors.get_message(inbox, message_id)
        data = validated(ReplyInput, body)
        message = sending.send_reply(
            parent,
            data,
            sender=sender_of(client, data),
            reply_all=reply_all,
            expected_last_message_id=data.get("expected_last_message_id"),
        )
        return MessageSerializer(message).data

    path = f"/v1/inboxes/{inbox_id}/messages/{message_id}/{action}"
    return once(client, key, path, body, handler)


def forward(
    client: ApiClient, inbox_id: str, message_id: str, key: str | None, body: dict[str, Any]
) -> dict:
    inbox = visible_inbox(client, inbox_id)

    def handler() -> dict:
        parent = selectors.get_message(inbox, message_id)
        data = validated(ForwardInput, body)
        message = sending.send_forward(
            parent,
            data,
            sender=sender_of(client, data),
            expected_last_message_id=data.get("expected_last_message_id"),
        )
        return MessageSerializer(message).data

    path = f"/v1/inboxes/{inbox_id}/messages/{message_id}/forward"
    return once(client, key, path, body, handler)


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=SEND, description="Send a new email from an inbox. " + RETURNS)
    async def send_message(
        inboxId: InboxId,
        to: Addresses,
        subject: Annotated[str, Field(description="Subject line.")],
        text: Text | None = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        replyTo: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Attachments | None = None,
        sendAt: SendAt | None = None,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        body = body_of(
            to=to,
            subject=subject,
            text=text,
            html=html,
            cc=cc,
            bcc=bcc,
            replyTo=replyTo,
            labels=labels,
            attachments=attachments,
            sendAt=sendAt,
        )
        return await run_tool(
            "messages:send", lambda c: send(c, inboxId, idempotencyKey, body), send=True
        )

    async def _reply(
        inbox_id: str, message_id: str, key: str | None, body: dict, *, reply_all: bool
    ) -> CallToolResult:
        return await run_tool(
            "messages:send",
            lambda c: reply(c, inbox_id, message_id, key, body, reply_all=reply_all),
            send=True,
        )

    @mcp.tool(
        annotations=SEND,
        description="Reply to a message, to its sender only, in the same thread (subject, "
        "In-Reply-To and References set for you). " + RETURNS,
    )
    async def reply_to_message(
        inboxId: InboxId,
        messageId: Annotated[str, Field(description="The message (msg_…) to reply to.")],
        text: Text | None = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Attachments | None = None,
        expectedLastMessageId: ExpectedLastMessageId | None = None,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        body = body_of(
            text=text,
            html=html,
            cc=cc,
            bcc=bcc,
            labels=labels,
            attachments=attachments,
            expectedLastMessageId=expectedLastMessageId,
        )
        return await _reply(inboxId, messageId, idempotencyKey, body, reply_all=False)

    @mcp.tool(
        annotations=SEND,
        description="Reply to a message's sender and everyone else it was addressed to (To "
        "and Cc, minus this inbox), in the same thread. " + RETURNS,
    )
    async def reply_all(
        inboxId: InboxId,
        messageId: Annotated[str, Field(description="The message (msg_…) to reply to.")],
        text: Text | None = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Attachments | None = None,
        expectedLastMessageId: ExpectedLastMessageId | None = None,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        body = body_of(
            text=text,
            html=html,
            cc=cc,
            bcc=bcc,
            labels=labels,
            attachments=attachments,
            expectedLastMessageId=expectedLastMessageId,
        )
        return await _reply(inboxId, messageId, idempotencyKey, body, reply_all=True)

    @mcp.tool(
        annotations=SEND,
        description="Forward a message (its text and attachments) to new recipients, with an "
        "optional note above it. " + RETURNS,
    )
    async def forward_message(
        inboxId: InboxId,
        messageId: Annotated[str, Field(description="The message (msg_…) to forward.")],
        to: Addresses,
        text: Annotated[
            str | None, Field(description="A note above the forwarded message.")
        ] = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Attachments | None = None,
        expectedLastMessageId: ExpectedLastMessageId | None = None,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        body = body_of(
            to=to,
            text=text,
            html=html,
            cc=cc,
            bcc=bcc,
            labels=labels,
            attachments=attachments,
            expectedLastMessageId=expectedLastMessageId,
        )
        return await run_tool(
            "messages:send",
            lambda c: forward(c, inboxId, messageId, idempotencyKey, body),
            send=True,
        )
