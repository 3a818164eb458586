"""The send path of the API: check a send / reply / reply-all / forward, store it queued with
its thread in one transaction, and enqueue the worker when that transaction commits."""

from __future__ import annotations

import html as html_lib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from inboxes.addresses import addr_spec, format_mailbox
from inboxes.exceptions import SendingDomainNotVerified
from inboxes.models import Inbox
from inboxes.selectors import sending_domain_verified
from messages import selectors
from messages.exceptions import RecipientSuppressed
from messages.models import Attachment, Message, Thread
from messages.payloads import prefetch_rows
from messages.services import handoff, lists, policies
from messages.services.collisions import check_collision
from messages.services.provenance import SYSTEM, Actor
from messages.services.threads import (
    add_to_thread,
    forward_subject,
    lock_thread,
    new_thread,
    reply_subject,
)
from sendook.api import format_timestamp
from sendook.exceptions import ValidationFailed

logger = logging.getLogger(__name__)

MAX_REFERENCES = 20


@dataclass(frozen=True)
class NewAttachment:
    name: str
    content_type: str
    content: bytes
    content_id: str = ""


class MessageTooLarge(ValidationFailed):
    status_code = 413
    code = "message_too_large"


def check_limits(
    *,
    to: Sequence[str],
    cc: Sequence[str],
    bcc: Sequence[str],
    text: str,
    html: str,
    attachments: Sequence[NewAttachment],
    copied_bytes: int = 0,
) -> None:
    limit = settings.SENDOOK_MAX_RECIPIENTS
    if len(to) + len(cc) + len(bcc) > limit:
        raise ValidationFailed.for_field(
            "to", f"At most {limit} recipients in to, cc and bcc together."
        )
    if len(attachments) > settings.SENDOOK_MAX_ATTACHMENTS:
        raise ValidationFailed.for_field(
            "attachments", f"At most {settings.SENDOOK_MAX_ATTACHMENTS} attachments."
        )
    total = len(text.encode()) + len(html.encode()) + copied_bytes
    for index, attachment in enumerate(attachments):
        size = len(attachment.content)
        if size > settings.SENDOOK_MAX_ATTACHMENT_BYTES:
            raise MessageTooLarge.for_field(
                f"attachments.{index}.content",
                f"Attachment is {size} bytes; the limit is {settings.SENDOOK_MAX_ATTACHMENT_BYTES}.",
            )
        total += size
    if total > settings.SENDOOK_MAX_MESSAGE_BYTES:
        raise MessageTooLarge.for_field(
            "attachments",
            f"Message is {total} bytes; the limit is {settings.SENDOOK_MAX_MESSAGE_BYTES}.",
        )


def _check_suppressions(inbox: Inbox, fields: dict[str, Sequence[str]]) -> None:
    everyone = [addr_spec(value) for values in fields.values() for value in values]
    suppressed = selectors.suppressed_addresses(inbox.organization, everyone)
    if not suppressed:
        return
    errors = {}
    for name, values in fields.items():
        for index, value in enumerate(values):
            if addr_spec(value) in suppressed:
                errors[f"{name}.{index}"] = [f"{addr_spec(value)} is on the suppression list."]
    raise RecipientSuppressed(fields=errors)


def _dedupe(addresses: Sequence[str], exclude: set[str]) -> list[str]:
    seen = set(exclude)
    result = []
    for address in addresses:
        spec = addr_spec(address)
        if spec not in seen:
            seen.add(spec)
            result.append(address)
    return result


@dataclass(frozen=True)
class Sender:
    """Who asks for a send (recorded as createdBy) and when it should go. `api_key` is the
    request's key, asked by the send policy whether it requires approval."""

    created_by: Actor = field(default_factory=lambda: dict(SYSTEM))
    api_key: Any = None
    send_at: datetime | None = None


def admit_send(
    inbox: Inbox,
    *,
    to: Sequence[str],
    cc: Sequence[str],
    bcc: Sequence[str],
    text: str,
    html: str,
    attachments: Sequence[NewAttachment],
    copied_bytes: int,
    sender: Sender,
) -> policies.Admission:
    """What every send-type action checks before anything is stored (limits, suppressions,
    the sending domain) and the send policy's verdict: new sends here, drafts being sent in
    messages.services.drafts."""
    check_limits(
        to=to,
        cc=cc,
        bcc=bcc,
        text=text,
        html=html,
        attachments=attachments,
        copied_bytes=copied_bytes,
    )
    _check_suppressions(inbox, {"to": to, "cc": cc, "bcc": bcc})
    lists.check_send_recipients(inbox, {"to": to, "cc": cc, "bcc": bcc})
    if not sending_domain_verified(inbox):
        raise SendingDomainNotVerified(
            f"{inbox.domain_name} is not a verified domain of this organization; "
            "verify it before sending from it"
        )
    return policies.admit(
        inbox, recipients=[*to, *cc, *bcc], api_key=sender.api_key, send_at=sender.send_at
    )


def _queue(
    inbox: Inbox,
    *,
    parent: Message | None,
    to: Sequence[str],
    cc: Sequence[str],
    bcc: Sequence[str],
    reply_to: Sequence[str],
    subject: str,
    text: str,
    html: str,
    labels: Sequence[str],
    attachments: Sequence[NewAttachment],
    copied: Sequence[Attachment] = (),
    in_reply_to: str = "",
    references: Sequence[str] = (),
    sender: Sender | None = None,
    expected_last_message_id: str | None = None,
) -> Message:
    sender = sender or Sender()
    admission = admit_send(
        inbox,
        to=to,
        cc=cc,
        bcc=bcc,
        text=text,
        html=html,
        attachments=attachments,
        copied_bytes=sum(attachment.size for attachment in copied),
        sender=sender,
    )
    with transaction.atomic():
        message = Message(
            organization=inbox.organization,
            inbox=inbox,
            direction=Message.Direction.OUTBOUND,
            status=admission.status,
            hold=admission.hold.as_dict() if admission.hold else {},
            send_at=admission.send_at,
            created_by=dict(sender.created_by),
            from_inbox=inbox,
            from_email=inbox.email,
            from_name=inbox.name,
            to=list(to),
            cc=list(cc),
            bcc=list(bcc),
            reply_to=list(reply_to),
            subject=subject,
            text=text,
            html=html,
            labels=list(labels),
            in_reply_to=in_reply_to,
            references=list(references),
        )
        # Stored now, so a reply to a message that is still queued threads correctly.
        message.message_id = f"<{message.public_id}@{inbox.domain_name}>"
        thread: Thread = lock_thread(parent.thread_id) if parent else new_thread(message)
        if parent:
            # With the thread locked: of two replies expecting the same last message, the
            # second sees the first's message here and is refused.
            check_collision(
                thread, sender=sender, expected_last_message_id=expected_last_message_id
            )
        message.thread = thread
        message.save()
        if parent:
            add_to_thread(thread, message)
        rows = store_attachments(message, attachments)
        for original in copied:
            # The bytes are immutable once stored, so the copy shares the file.
            rows.append(
                Attachment.objects.create(
                    message=message,
                    filename=original.filename,
                    content_type=original.content_type,
                    size=original.size,
                    file=original.file.name,
                    # Inline images keep their Content-ID, so the forwarded HTML's cid:
                    # references still find them.
                    content_id=original.content_id,
                    inline=original.inline,
                )
            )
        # The response lists the attachments: hand them over instead of querying them back.
        prefetch_rows(message, "attachments", rows)
        handoff.start(message, recipients_known=admission.recipients_known)
    return message


def send_message(
    inbox: Inbox,
    *,
    to: Sequence[str],
    subject: str,
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    reply_to: Sequence[str] = (),
    text: str = "",
    html: str = "",
    labels: Sequence[str] = (),
    attachments: Sequence[NewAttachment] = (),
    sender: Sender | None = None,
) -> Message:
    return _queue(
        inbox,
        parent=None,
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        subject=subject,
        text=text,
        html=html,
        labels=labels,
        attachments=attachments,
    )


def threading_headers(parent: Message) -> list[str]:
    references = (
        [*parent.references, parent.message_id] if parent.message_id else list(parent.references)
    )
    references = [value for value in dict.fromkeys(references) if value]
    if len(references) > MAX_REFERENCES:
        # RFC 5322 §3.6.4: keep the thread's first message and the most recent ones.
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
    return references


def _other_party(parent: Message) -> list[str]:
    if parent.direction == Message.Direction.INBOUND:
        if parent.reply_to:
            return list(parent.reply_to)
        return [format_mailbox(parent.from_name, parent.from_email)]
    return list(parent.to)


def reply_recipients(parent: Message) -> list[str]:
    """Whom a plain reply to `parent` goes to (the staff UI names them on its reply form)."""
    return _other_party(parent)


def reply_to_message(
    parent: Message,
    *,
    reply_all: bool = False,
    to: Sequence[str] = (),
    text: str = "",
    html: str = "",
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    reply_to: Sequence[str] = (),
    labels: Sequence[str] = (),
    attachments: Sequence[NewAttachment] = (),
    sender: Sender | None = None,
    expected_last_message_id: str | None = None,
) -> Message:
    """`expected_last_message_id`: the thread's last message as the caller saw it; a newer one
    → ThreadChanged (409) and nothing stored or sent (see check_collision)."""
    inbox = parent.inbox
    me = {inbox.email.lower()}
    # `to` replaces the other party (the staff UI's editable To); reply-all still adds the rest.
    to = list(to) or _other_party(parent)
    all_cc = list(cc)
    if reply_all:
        if parent.direction == Message.Direction.INBOUND:
            to = [*to, *parent.to]
        all_cc = [*parent.cc, *cc]
    to = _dedupe(to, me) or _other_party(parent)
    all_cc = _dedupe(all_cc, me | {addr_spec(value) for value in to})
    return _queue(
        inbox,
        parent=parent,
        to=to,
        cc=all_cc,
        bcc=list(bcc),
        reply_to=reply_to,
        subject=reply_subject(parent.subject),
        text=text,
        html=html,
        labels=labels,
        attachments=attachments,
        in_reply_to=parent.message_id,
        references=threading_headers(parent),
        sender=sender,
        expected_last_message_id=expected_last_message_id,
    )


def _forwarded_block(parent: Message) -> tuple[str, str]:
    sender = format_mailbox(parent.from_name, parent.from_email)
    lines = [
        "---------- Forwarded message ---------",
        f"From: {sender}",
        f"Date: {format_timestamp(parent.created_at)}",
        f"Subject: {parent.subject}",
        f"To: {', '.join(parent.to)}",
    ]
    if parent.cc:
        lines.append(f"Cc: {', '.join(parent.cc)}")
    text = "\n".join(lines) + "\n\n" + parent.text
    quoted = parent.html or f"<pre>{html_lib.escape(parent.text)}</pre>"
    html = "<div>" + "<br>".join(html_lib.escape(line) for line in lines) + "</div><br>" + quoted
    return text, html


def forward_message(
    parent: Message,
    *,
    to: Sequence[str],
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    text: str = "",
    html: str = "",
    labels: Sequence[str] = (),
    attachments: Sequence[NewAttachment] = (),
    sender: Sender | None = None,
    expected_last_message_id: str | None = None,
) -> Message:
    """`expected_last_message_id` as for reply_to_message."""
    block_text, block_html = _forwarded_block(parent)
    # The note goes above the forwarded block in both parts: given only as text, it is
    # escaped into the HTML part too (HTML clients show that part, not the text one).
    note_html = html or (
        "<div>" + "<br>".join(html_lib.escape(line) for line in text.splitlines()) + "</div>"
        if text
        else ""
    )
    return _queue(
        parent.inbox,
        parent=parent,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=(),
        subject=forward_subject(parent.subject),
        text=f"{text}\n\n{block_text}" if text else block_text,
        html=f"{note_html}<br><br>{block_html}" if note_html else block_html,
        labels=labels,
        attachments=attachments,
        copied=list(parent.attachments.all()),
        references=threading_headers(parent),
        sender=sender,
        expected_last_message_id=expected_last_message_id,
    )


def store_attachments(message: Message, attachments: Sequence[NewAttachment]) -> list[Attachment]:
    """The new attachments' rows and files (a send's, a draft's)."""
    rows = []
    for attachment in attachments:
        row = Attachment(
            message=message,
            filename=attachment.name,
            content_type=attachment.content_type,
            size=len(attachment.content),
            content_id=attachment.content_id,
            inline=bool(attachment.content_id),
        )
        row.file.save(row.public_id, ContentFile(attachment.content), save=False)
        row.save()
        rows.append(row)
    return rows
