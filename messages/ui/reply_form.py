"""What the reply, forward and compose forms show and take besides their text: whom a reply
addresses (prefilled, editable), the quoted original, the thread's last message id as the page
showed it (the collision check), and attached files within the send limits."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import UTC
from email.utils import getaddresses
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from inboxes.addresses import addr_spec
from messages.models import Message
from messages.services import send as outbound
from messages.ui import sending
from sendook.exceptions import ValidationFailed

QUOTE_MAX_CHARS = 20_000


def parent_of(messages: list[Message]) -> Message | None:
    """The message a reply answers: the latest received one, else the latest (a draft in the
    thread is not mail to answer)."""
    received = [m for m in messages if m.direction == Message.Direction.INBOUND]
    mail = [m for m in messages if m.status != Message.Status.DRAFT]
    return (received or mail)[-1] if mail else None


def reply_recipients(parent: Message) -> list[str]:
    return outbound.reply_recipients(parent)


def reply_all_additions(parent: Message) -> tuple[list[str], list[str]]:
    """Who "Reply all" adds to the To and Cc boxes (the service adds them the same way)."""
    me = addr_spec(parent.inbox.email)
    to = parent.to if parent.direction == Message.Direction.INBOUND else []
    seen = {me, *(addr_spec(a) for a in outbound.reply_recipients(parent))}
    extra_to = [a for a in to if addr_spec(a) not in seen]
    seen |= {addr_spec(a) for a in extra_to}
    extra_cc = [a for a in parent.cc if addr_spec(a) not in seen]
    return extra_to, extra_cc


def quote_of(parent: Message) -> str:
    """The original below a reply: "On <date>, <sender> wrote:" and its lines prefixed "> "."""
    sender = parent.from_name or parent.from_email
    when = parent.created_at.astimezone(UTC).strftime("%b %d, %Y at %H:%M UTC")
    body = (parent.text or "").strip()[:QUOTE_MAX_CHARS]
    lines = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    return f"On {when}, {sender} wrote:\n{lines}"


def limits() -> dict[str, Any]:
    return {
        "attachment_limit": filesizeformat(settings.SENDOOK_MAX_ATTACHMENT_BYTES),
        "message_limit": filesizeformat(settings.SENDOOK_MAX_MESSAGE_BYTES),
        "max_attachments": settings.SENDOOK_MAX_ATTACHMENTS,
    }


def reply_context(messages: list[Message], **overrides: Any) -> dict[str, Any]:
    """The reply and forward forms' context: the message they answer, its addressing, a fresh
    idempotency key for each form, and the id of the newest message the page shows."""
    parent = parent_of(messages)
    recipients = outbound.reply_recipients(parent) if parent else []
    names = [name or address for name, address in getaddresses(recipients)]
    context: dict[str, Any] = {
        "parent": parent,
        "reply_to_names": ", ".join(names),
        "reply_key": sending.new_form_key(),
        "forward_key": sending.new_form_key(),
        "reply_form": {"to": ", ".join(recipients)},
        **limits(),
    }
    if parent is not None:
        extra_to, extra_cc = reply_all_additions(parent)
        context["reply_all_adds"] = [*extra_to, *extra_cc]
        context["quoted"] = quote_of(parent)
        context["last_message_id"] = parent.thread.last_message_public_id
    return {**context, **overrides}


def _mb(size: int) -> str:
    return str(filesizeformat(size)).replace("\xa0", " ")


def uploaded_files(request: Any, field: str = "attachments") -> list[outbound.NewAttachment]:
    """The files chosen in the form, checked against the send limits before they are read, each
    error naming the file: "Attachments: report.pdf is 12.0 MB; the limit is 10.0 MB a file."."""
    files = request.FILES.getlist(field)
    label = "Attachments"
    if len(files) > settings.SENDOOK_MAX_ATTACHMENTS:
        raise ValidationFailed.for_field(
            field,
            f"{label}: {len(files)} files are too many (at most "
            f"{settings.SENDOOK_MAX_ATTACHMENTS}).",
        )
    total = 0
    attachments = []
    for upload in files:
        name = (upload.name or "attachment").replace("\\", "/").rsplit("/", 1)[-1].strip()
        name = "".join(char for char in name if char.isprintable())[:255] or "attachment"
        if upload.size > settings.SENDOOK_MAX_ATTACHMENT_BYTES:
            raise ValidationFailed.for_field(
                field,
                f"{label}: {name} is {_mb(upload.size)}; the limit is "
                f"{_mb(settings.SENDOOK_MAX_ATTACHMENT_BYTES)} a file.",
            )
        total += upload.size
        if total > settings.SENDOOK_MAX_MESSAGE_BYTES:
            raise ValidationFailed.for_field(
                field,
                f"{label}: with {name} the files come to {_mb(total)}; a message may be at most "
                f"{_mb(settings.SENDOOK_MAX_MESSAGE_BYTES)}.",
            )
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        attachments.append(
            outbound.NewAttachment(name=name, content_type=content_type, content=upload.read())
        )
    return attachments


def file_fingerprint(attachments: list[outbound.NewAttachment]) -> list[str]:
    """The files as the idempotency fingerprint sees them (a resubmit with other files is not
    a repeat)."""
    return [f"{a.name}:{hashlib.sha256(a.content).hexdigest()}" for a in attachments]
