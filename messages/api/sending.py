"""From validated API input to the send and draft services: what a send, reply, forward or new
draft body means, written once for both ways an API key sends (the REST actions in viewsets.py
and drafts.py, and the MCP tools in messages/mcp_server/tools/). The caller says who sends
(`Sender`) and which message a reply answers; everything else comes from the body."""

from __future__ import annotations

from typing import Any

from inboxes.models import Inbox
from messages import selectors
from messages.exceptions import MessageNotFound
from messages.models import Message
from messages.services import drafts
from messages.services import send as outbound
from messages.services.provenance import Actor
from sendook.exceptions import ValidationFailed


def attachments_of(data: dict[str, Any]) -> list[outbound.NewAttachment]:
    return [
        outbound.NewAttachment(
            name=item["name"],
            content_type=item["content_type"],
            content=item["content"],
            content_id=item.get("content_id", ""),
        )
        for item in data.get("attachments", [])
    ]


def send_new(inbox: Inbox, data: dict[str, Any], *, sender: outbound.Sender) -> Message:
    """A validated SendInput body."""
    return outbound.send_message(
        inbox,
        to=data["to"],
        cc=data.get("cc", []),
        bcc=data.get("bcc", []),
        reply_to=data.get("reply_to", []),
        subject=data["subject"],
        text=data.get("text", ""),
        html=data.get("html", ""),
        labels=data.get("labels", []),
        attachments=attachments_of(data),
        sender=sender,
    )


def send_reply(
    parent: Message,
    data: dict[str, Any],
    *,
    sender: outbound.Sender,
    reply_all: bool,
    expected_last_message_id: str | None,
) -> Message:
    """A validated ReplyInput body."""
    return outbound.reply_to_message(
        parent,
        reply_all=reply_all,
        text=data.get("text", ""),
        html=data.get("html", ""),
        cc=data.get("cc", []),
        bcc=data.get("bcc", []),
        reply_to=data.get("reply_to", []),
        labels=data.get("labels", []),
        attachments=attachments_of(data),
        sender=sender,
        expected_last_message_id=expected_last_message_id,
    )


def send_forward(
    parent: Message,
    data: dict[str, Any],
    *,
    sender: outbound.Sender,
    expected_last_message_id: str | None,
) -> Message:
    """A validated ForwardInput body."""
    return outbound.forward_message(
        parent,
        to=data["to"],
        cc=data.get("cc", []),
        bcc=data.get("bcc", []),
        text=data.get("text", ""),
        html=data.get("html", ""),
        labels=data.get("labels", []),
        attachments=attachments_of(data),
        sender=sender,
        expected_last_message_id=expected_last_message_id,
    )


def draft_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The editable fields a validated draft body gives (those not given stay as they are)."""
    return {name: data[name] for name in drafts.EDITABLE if name in data}


def create_draft(inbox: Inbox, data: dict[str, Any], *, created_by: Actor) -> Message:
    """A validated NewDraftInput body; `inReplyTo` must be a message of this inbox."""
    parent = None
    if data.get("in_reply_to"):
        try:
            parent = selectors.get_message(inbox, data["in_reply_to"])
        except MessageNotFound:
            raise ValidationFailed.for_field(
                "inReplyTo", "No message with this id in this inbox."
            ) from None
    return drafts.create_draft(
        inbox,
        fields=draft_fields(data),
        attachments=attachments_of(data),
        parent=parent,
        created_by=created_by,
    )


def update_draft(draft: Message, data: dict[str, Any]) -> Message:
    """A validated DraftUpdateInput body: attachments, when given, replace the draft's."""
    attachments = attachments_of(data) if "attachments" in data else None
    return drafts.update_draft(draft, fields=draft_fields(data), attachments=attachments)
