"""create_draft, update_draft (scope drafts:write) and send_draft (messages:send): the REST
draft actions (messages/api/drafts.py) over messages.services.drafts; a draft is sent through
the same send path, policy, budget and idempotency as every other send."""

from typing import Annotated, Any

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api import sending
from messages.api.drafts import DraftUpdateInput, NewDraftInput
from messages.api.serializers import MessageSerializer
from messages.mcp_server.calls import body_of, once, run_tool, validated, visible_inbox
from messages.mcp_server.tools import SEND, WRITE
from messages.mcp_server.tools.args import (
    Addresses,
    Attachments,
    DraftId,
    Html,
    IdempotencyKey,
    InboxId,
    Labels,
    SendAt,
    Text,
)
from messages.mcp_server.tools.sending import RETURNS, sender_of
from messages.services import drafts
from messages.services.provenance import api_key_actor
from sendook.api import ApiClient


def create(client: ApiClient, inbox_id: str, key: str | None, body: dict[str, Any]) -> dict:
    inbox = visible_inbox(client, inbox_id)

    def handler() -> dict:
        data = validated(NewDraftInput, body)
        draft = sending.create_draft(inbox, data, created_by=api_key_actor(client.api_key))
        return MessageSerializer(draft).data

    return once(client, key, f"/v1/inboxes/{inbox_id}/drafts", body, handler, status=201)


def update(client: ApiClient, inbox_id: str, draft_id: str, body: dict[str, Any]) -> dict:
    draft = selectors.get_draft_for_change(visible_inbox(client, inbox_id), draft_id)
    updated = sending.update_draft(draft, validated(DraftUpdateInput, body))
    return MessageSerializer(updated).data


def send(client: ApiClient, inbox_id: str, draft_id: str, key: str | None) -> dict:
    inbox = visible_inbox(client, inbox_id)

    def handler() -> dict:
        draft = selectors.get_draft_for_change(inbox, draft_id)
        sent = drafts.send_draft(draft, sender=sender_of(client, {}))
        return MessageSerializer(sent).data

    return once(client, key, f"/v1/inboxes/{inbox_id}/drafts/{draft_id}/send", {}, handler)


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=WRITE)
    async def create_draft(
        inboxId: InboxId,
        to: Addresses | None = None,
        subject: Annotated[str | None, Field(description="Subject line.")] = None,
        text: Text | None = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        replyTo: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Attachments | None = None,
        sendAt: SendAt | None = None,
        inReplyTo: Annotated[
            str | None,
            Field(
                description="A message id (msg_…) of this inbox: the draft becomes a reply to "
                "it (its thread, subject and recipients, each editable)."
            ),
        ] = None,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        """Write an email without sending it, for a person or a later send_draft to send.
        Every field is optional until it is sent. Returns the draft (a Message with status
        draft); its id is the draftId of update_draft and send_draft."""
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
            inReplyTo=inReplyTo,
        )
        return await run_tool("drafts:write", lambda c: create(c, inboxId, idempotencyKey, body))

    @mcp.tool(annotations=WRITE)
    async def update_draft(
        inboxId: InboxId,
        draftId: DraftId,
        to: Addresses | None = None,
        subject: Annotated[str | None, Field(description="Subject line.")] = None,
        text: Text | None = None,
        html: Html | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        replyTo: Addresses | None = None,
        labels: Labels | None = None,
        attachments: Annotated[
            Attachments | None, Field(description="Replaces the draft's attachments.")
        ] = None,
        sendAt: SendAt | None = None,
    ) -> CallToolResult:
        """Change a draft that has not been sent: only the fields given change. Returns the
        updated draft."""
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
        return await run_tool("drafts:write", lambda c: update(c, inboxId, draftId, body))

    @mcp.tool(
        annotations=SEND,
        description="Send a draft as it is, with the same checks as send_message (a draft "
        "without recipients is a validation_error naming to). " + RETURNS,
    )
    async def send_draft(
        inboxId: InboxId,
        draftId: DraftId,
        idempotencyKey: IdempotencyKey | None = None,
    ) -> CallToolResult:
        return await run_tool(
            "messages:send", lambda c: send(c, inboxId, draftId, idempotencyKey), send=True
        )
