"""Who wrote and who decided, in words, for the thread view: "sent by agent key Support bot,
approved by Dana"."""

from __future__ import annotations

from messages.models import Message

_HOLD_REASONS = {
    "organization_paused": "sending is paused for the organization",
    "inbox_paused": "sending is paused for this inbox",
    "key_requires_approval": "its key requires approval",
    "always": "this inbox approves every send",
    "external": "it goes outside the organization",
    "first_contact": "first contact",
}


def _who(actor: dict) -> str:
    kind = actor.get("type")
    name = actor.get("name") or actor.get("id") or "unknown"
    if kind == "api_key":
        return f"agent key {name}"
    if kind == "system":
        return "Sendook"
    return name


def provenance_text(message: Message) -> str:
    """Empty for received mail and for messages stored before provenance was recorded."""
    if message.direction != Message.Direction.OUTBOUND or not message.created_by:
        return ""
    if message.status == Message.Status.DRAFT:
        parts = [f"drafted by {_who(message.created_by)}"]
    elif message.sent_by:
        parts = [f"written by {_who(message.created_by)}", f"sent by {_who(message.sent_by)}"]
    else:
        parts = [f"sent by {_who(message.created_by)}"]
    if message.approved_by:
        parts.append(f"approved by {_who(message.approved_by)}")
    if message.declined_by:
        reason = f" ({message.status_reason})" if message.status_reason else ""
        parts.append(f"declined by {_who(message.declined_by)}{reason}")
    if message.review:
        parts.append("edited before approval")
    if message.status == Message.Status.PENDING_APPROVAL and message.hold:
        parts.append(f"waiting for approval: {hold_text(message)}")
    return ", ".join(parts)


def hold_text(message: Message) -> str:
    """Why a held message waits: "first contact (ada@example.org)"."""
    reason = _HOLD_REASONS.get(message.hold.get("reason", ""), "a send policy")
    recipients = ", ".join(message.hold.get("recipients", []))
    return reason + (f" ({recipients})" if recipients else "")
