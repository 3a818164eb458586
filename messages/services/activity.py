"""A thread's activity timeline (GET …/threads/{tid}/activity and the staff UI's thread view):
its messages, notes, status changes, assignments and label changes, and the holds, approvals
and declines of its held sends, each with its actor, oldest first.

Every entry is `{id, type, at, actor?, …}` (docs/api.md, "Activity"):
- `message`: `messageId, direction, status, from, to, subject, preview`, `sendAt` while
  scheduled, `sentBy` when a person sent someone else's draft. `actor` is the message's
  createdBy (the API key or person who wrote it, or the inbound record it arrived in).
- `hold`: a send held for approval, at the moment it was accepted (`reason, recipients`;
  actor: the system's send policy).
- `approval` / `decline`: the decision on a held send (`reason` on a decline; `edited` on an
  approval whose approver changed the text).
- `note`: `noteId, text`; actor: its author.
- `status`, `assignment`, `labels`: `changes` exactly as in the thread.updated event
  (`{"status": {"from", "to"}, "snoozedUntil"?: {…}}`, `{"assignee": {"from", "to"}}`,
  `{"labels": {"added", "removed"}}`).
Drafts are not activity: they appear once sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messages.models import Message, Note, Thread, ThreadActivity
from messages.payloads import preview_of
from messages.services.provenance import SYSTEM
from sendook.api import format_timestamp

# Entries at the same instant: the message before its hold, both before anything else.
_RANK = {"message": 0, "hold": 1}


def _entry(kind: str, entry_id: str, at: datetime, actor: Any, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": entry_id, "type": kind, "at": at}
    if actor:
        entry["actor"] = dict(actor)
    entry.update({key: value for key, value in details.items() if value is not None})
    return entry


def _message_entries(message: Message) -> list[dict[str, Any]]:
    entries = [
        _entry(
            "message",
            message.public_id,
            message.created_at,
            message.created_by,
            messageId=message.public_id,
            direction=message.direction,
            status=message.status,
            **{"from": message.from_email},
            to=list(message.to),
            subject=message.subject,
            preview=preview_of(message.extracted_text or message.text, message.html),
            sendAt=format_timestamp(message.send_at)
            if message.send_at and message.status == Message.Status.SCHEDULED
            else None,
            sentBy=dict(message.sent_by) if message.sent_by else None,
        )
    ]
    if message.hold:
        entries.append(
            _entry(
                "hold",
                f"{message.public_id}:hold",
                message.created_at,
                SYSTEM,
                messageId=message.public_id,
                reason=message.hold.get("reason"),
                recipients=list(message.hold.get("recipients", [])),
            )
        )
    if message.approved_at:
        entries.append(
            _entry(
                "approval",
                f"{message.public_id}:approval",
                message.approved_at,
                message.approved_by,
                messageId=message.public_id,
                edited=bool(message.review),
            )
        )
    if message.declined_at:
        entries.append(
            _entry(
                "decline",
                f"{message.public_id}:decline",
                message.declined_at,
                message.declined_by,
                messageId=message.public_id,
                reason=message.status_reason or None,
            )
        )
    return entries


def thread_activity(thread: Thread) -> list[dict[str, Any]]:
    """The timeline, oldest first (three queries: messages, notes, activity rows)."""
    entries: list[dict[str, Any]] = []
    messages = (
        Message.objects.filter(thread=thread)
        .exclude(status=Message.Status.DRAFT)
        .only(
            "public_id",
            "created_at",
            "created_by",
            "direction",
            "status",
            "status_reason",
            "from_email",
            "to",
            "subject",
            "text",
            "extracted_text",
            "html",
            "send_at",
            "sent_by",
            "hold",
            "review",
            "approved_at",
            "approved_by",
            "declined_at",
            "declined_by",
        )
        .order_by("id")
    )
    for message in messages:
        entries += _message_entries(message)
    for note in Note.objects.filter(thread=thread).order_by("id"):
        entries.append(
            _entry(
                "note",
                note.public_id,
                note.created_at,
                note.author,
                noteId=note.public_id,
                text=note.text,
            )
        )
    for row in ThreadActivity.objects.filter(thread=thread).order_by("id"):
        entries.append(
            _entry(row.kind, row.public_id, row.created_at, row.actor, changes=row.changes)
        )
    entries.sort(key=lambda entry: (entry["at"], _RANK.get(entry["type"], 2)))
    for entry in entries:
        entry["at"] = format_timestamp(entry["at"])
    return entries
