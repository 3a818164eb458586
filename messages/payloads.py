"""The Message object, defined once: what the API renders (messages.api.serializers wraps it),
what event payloads carry (bodies, no attachment bytes), and the way callers hand it rows they
already hold instead of it querying them."""

import base64
import html as html_lib
import re
from collections.abc import Mapping
from typing import Any

from messages.models import Attachment, Message
from sendook.api import format_timestamp

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_DROPPED = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

# The message columns message_row_to_dict reads.
MESSAGE_ROW_FIELDS = (
    "public_id",
    "from_name",
    "reply_to",
    "from_email",
    "to",
    "cc",
    "bcc",
    "subject",
    "text",
    "html",
    "extracted_text",
    "labels",
    "message_id",
    "in_reply_to",
    "references",
    "external_message_id",
    "status",
    "status_reason",
    "direction",
    "sent_at",
    "created_at",
    "updated_at",
    # Supervision: columns of the message row itself, so list pages need no extra query.
    "created_by",
    "approved_by",
    "sent_by",
    "approved_at",
    "declined_by",
    "declined_at",
    "hold",
    "review",
    "send_at",
    # Inbound: who really sent it (services/authentication.py), shown as `authentication`.
    "verdicts",
    # Trust (received mail only): what an agent may believe about the sender.
    "trust",
)

# The stored verdict keys the API's `authentication` object shows (reasons stay in the admin:
# they quote DNS text the sender's domain wrote).
_AUTHENTICATION_KEYS = ("spf", "dkim", "dmarc", "arc", "dmarcPolicy", "checkedBy")


def message_payload(message: Message) -> dict[str, Any]:
    return message_row_to_dict(message_row(message))


def preview_of(text: str, html: str, length: int = 200) -> str:
    if not text and html:
        text = html_lib.unescape(_TAG.sub(" ", _DROPPED.sub(" ", html)))
    return _SPACE.sub(" ", text).strip()[:length]


def _attachment_dict(attachment: Attachment, *, content: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": attachment.public_id,
        "_id": attachment.public_id,
        "name": attachment.filename,
        "contentType": attachment.content_type,
        "size": attachment.size,
    }
    if attachment.content_id:
        data["contentId"] = attachment.content_id
    data["inline"] = attachment.inline
    if content:
        with attachment.file.open("rb") as handle:
            data["content"] = base64.b64encode(handle.read()).decode()
    return data


def message_row(message: Message) -> dict[str, Any]:
    """A loaded message (and its relations) as the row message_row_to_dict reads."""
    row = {name: getattr(message, name) for name in MESSAGE_ROW_FIELDS}
    row["organization_public_id"] = message.organization.public_id
    row["inbox_public_id"] = message.inbox.public_id
    row["thread_public_id"] = message.thread.public_id
    row["from_inbox_public_id"] = message.from_inbox.public_id if message.from_inbox_id else None  # type: ignore[union-attr]
    row["to_inbox_public_id"] = message.to_inbox.public_id if message.to_inbox_id else None  # type: ignore[union-attr]
    row["attachments"] = message.attachments.all()
    return row


def message_row_to_dict(
    row: Mapping[str, Any], *, bodies: bool = True, content: bool = False, preview: bool = False
) -> dict[str, Any]:
    """The one definition of the API's Message object, from a row of plain values.

    A row holds MESSAGE_ROW_FIELDS, the related rows' public ids (`thread_public_id`, …) and the
    message's attachments (models). Models go through message_row(); list pages read rows
    straight from the database (selectors.list_messages), which skips building five model
    instances per message.
    """
    optional = {
        "fromInboxId": row["from_inbox_public_id"],
        "toInboxId": row["to_inbox_public_id"],
        "fromName": row["from_name"],
        "replyTo": list(row["reply_to"]),
    }
    data: dict[str, Any] = {
        "id": row["public_id"],
        "_id": row["public_id"],
        "organizationId": row["organization_public_id"],
        "inboxId": row["inbox_public_id"],
        "threadId": row["thread_public_id"],
        **{key: value for key, value in optional.items() if value},
        "from": row["from_email"],
        "to": list(row["to"]),
        "cc": list(row["cc"]),
        "bcc": list(row["bcc"]),
        "subject": row["subject"],
    }
    if bodies:
        data["text"] = row["text"]
        data["html"] = row["html"]
        if row["extracted_text"]:
            data["extractedText"] = row["extracted_text"]
    if preview:
        data["preview"] = preview_of(row["text"], row["html"])
    data["labels"] = list(row["labels"])
    data["attachments"] = [_attachment_dict(a, content=content) for a in row["attachments"]]
    data["messageId"] = row["message_id"]
    if row["in_reply_to"]:
        data["inReplyTo"] = row["in_reply_to"]
    data["references"] = list(row["references"])
    if row["external_message_id"]:
        data["externalMessageId"] = row["external_message_id"]
    data["status"] = row["status"]
    if row["status_reason"]:
        data["statusReason"] = row["status_reason"]
    data["direction"] = row["direction"]
    if row["direction"] == Message.Direction.INBOUND:
        data["authentication"] = authentication_of(row["verdicts"])
    if row["trust"]:
        data["trust"] = dict(row["trust"])
    _supervision(row, data)
    if row["sent_at"]:
        data["sentAt"] = format_timestamp(row["sent_at"])
    data["createdAt"] = format_timestamp(row["created_at"])
    data["updatedAt"] = format_timestamp(row["updated_at"])
    return data


def authentication_of(verdicts: Mapping[str, Any] | None) -> dict[str, Any]:
    """A received message's `authentication` object from its stored verdicts. Messages stored
    before Sendook checked mail itself carry only what the provider said (or nothing): "none"."""
    verdicts = verdicts or {}
    data: dict[str, Any] = {"spf": "none", "dkim": "none", "dmarc": "none"}
    for key in _AUTHENTICATION_KEYS:
        if isinstance(verdicts.get(key), str) and verdicts[key]:
            data[key] = verdicts[key]
    data.setdefault("checkedBy", "provider")
    domains = verdicts.get("domains")
    if isinstance(domains, Mapping):
        data["domains"] = dict(domains)
    return data


def _supervision(row: Mapping[str, Any], data: dict[str, Any]) -> None:
    """Provenance, hold and schedule; each omitted while unset (older messages have none)."""
    for key, name in (
        ("created_by", "createdBy"),
        ("sent_by", "sentBy"),
        ("hold", "hold"),
        ("review", "review"),
    ):
        if row[key]:
            data[name] = dict(row[key])
    if row["send_at"]:
        data["sendAt"] = format_timestamp(row["send_at"])
    for key in ("approved", "declined"):
        if row[f"{key}_by"]:
            data[f"{key}By"] = dict(row[f"{key}_by"])
        if row[f"{key}_at"]:
            data[f"{key}At"] = format_timestamp(row[f"{key}_at"])


def prefetch_rows(instance: Message, relation: str, rows: list[Attachment]) -> None:
    """Fills a reverse relation's prefetch cache with rows we already hold."""
    queryset = getattr(instance, relation).all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    instance._prefetched_objects_cache = {relation: queryset}  # type: ignore[attr-defined]


# --- shared threads (messages/services/triage.py, notes.py) ---------------------------------


def member_name(membership: Any) -> str:
    """How a member is named to others: their full name, else their email or login."""
    user = membership.user
    return user.get_full_name() or user.email or user.get_username()


def assignee_ref(assignee: Any) -> dict[str, str] | None:
    """The API's `assignee` object, {type, id, name}, of a Membership or an ApiKey (None:
    unassigned)."""
    if assignee is None:
        return None
    if hasattr(assignee, "key_hash"):
        return {
            "type": "api_key",
            "id": assignee.public_id,
            "name": assignee.name or assignee.prefix,
        }
    return {"type": "user", "id": assignee.public_id, "name": member_name(assignee)}


def thread_assignee(thread: Any) -> Any:
    """The Membership or ApiKey a thread is assigned to, or None."""
    if thread.assignee_member_id:
        return thread.assignee_member
    if thread.assignee_key_id:
        return thread.assignee_key
    return None


def thread_payload(thread: Any, *, message_ids: list[str] | None = None) -> dict[str, Any]:
    """The API's Thread object (message ids in `messages`), for the API and event payloads.

    `message_ids` defaults to the thread's messages (drafts left out), oldest first: the
    prefetched ones of a list page, else one query."""
    if message_ids is None:
        if "messages" in getattr(thread, "_prefetched_objects_cache", {}):
            # A list page's prefetch (selectors.list_threads) already leaves drafts out.
            message_ids = [message.public_id for message in thread.messages.all()]
        else:
            message_ids = list(
                thread.messages.exclude(status=Message.Status.DRAFT)
                .order_by("id")
                .values_list("public_id", flat=True)
            )
    data: dict[str, Any] = {
        "id": thread.public_id,
        "_id": thread.public_id,
        "organizationId": thread.organization.public_id,
        "inboxId": thread.inbox.public_id,
        "subject": thread.subject,
        "participants": list(thread.participants),
        "labels": list(thread.labels),
        "messageCount": thread.message_count,
        "status": thread.status,
    }
    if thread.snoozed_until:
        data["snoozedUntil"] = format_timestamp(thread.snoozed_until)
    assignee = assignee_ref(thread_assignee(thread))
    if assignee:
        data["assignee"] = assignee
    if thread.last_message_public_id:
        data["lastMessageId"] = thread.last_message_public_id
    if thread.last_message_at:
        data["lastMessageAt"] = format_timestamp(thread.last_message_at)
    data["preview"] = thread.preview
    data["messages"] = list(message_ids)
    data["createdAt"] = format_timestamp(thread.created_at)
    data["updatedAt"] = format_timestamp(thread.updated_at)
    return data


def note_payload(note: Any) -> dict[str, Any]:
    """The API's Note object."""
    return {
        "id": note.public_id,
        "_id": note.public_id,
        "threadId": note.thread.public_id,
        "inboxId": note.thread.inbox.public_id,
        "author": dict(note.author),
        "text": note.text,
        "createdAt": format_timestamp(note.created_at),
    }
