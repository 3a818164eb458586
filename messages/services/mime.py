"""Outbound MIME, built by us: our own Message-ID, In-Reply-To and References, BCC only in the
envelope, inline images beside the HTML that shows them. The bytes render_mime() returns are
the bytes stored as Message.raw and handed to the provider."""

from __future__ import annotations

import email.message
import email.policy
from email.utils import format_datetime
from typing import Any

from inboxes.addresses import format_mailbox
from messages.models import Attachment, Message

# 7bit: every part is quoted-printable or base64, so no backend (Anymail converts 8bit parts
# for SES) rewrites what we built, and the bytes we store are the bytes that are sent.
MIME_POLICY = email.policy.SMTP.clone(cte_type="7bit")


class MimeMessage(email.message.EmailMessage):
    """A stdlib message that also takes Django's `as_bytes(linesep=…)` (the SMTP backend), and
    hands backends the bytes render_mime() produced (the ones stored as Message.raw)."""

    rendered: bytes | None = None

    def as_bytes(
        self, unixfrom: bool = False, policy: Any = None, linesep: str | None = None
    ) -> bytes:
        if (
            self.rendered is not None
            and not unixfrom
            and policy is None
            and linesep in (None, "\r\n")
        ):
            return self.rendered
        policy = policy or self.policy
        if linesep:
            policy = policy.clone(linesep=linesep)
        return super().as_bytes(unixfrom, policy)


def build_mime(message: Message, attachments: list[Attachment] | None = None) -> MimeMessage:
    inbox = message.inbox
    mime = MimeMessage(policy=MIME_POLICY)
    mime["From"] = format_mailbox(inbox.name, inbox.email)
    mime["To"] = ", ".join(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        mime["Reply-To"] = ", ".join(message.reply_to)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.created_at)
    mime["Message-ID"] = message.message_id
    if message.in_reply_to:
        mime["In-Reply-To"] = message.in_reply_to
    if message.references:
        mime["References"] = " ".join(message.references)
    # BCC is deliberately absent: it exists only in the envelope.
    if message.text or not message.html:
        mime.set_content(message.text)
        if message.html:
            mime.add_alternative(message.html, subtype="html")
    else:
        mime.set_content(message.html, subtype="html")
    if attachments is None:
        attachments = list(message.attachments.order_by("id"))
    # Inline images first: they join the HTML part's multipart/related, which has to exist
    # before other attachments turn the whole message into multipart/mixed.
    attachments = sorted(attachments, key=lambda a: not (a.inline and a.content_id))
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        with attachment.file.open("rb") as handle:
            content = handle.read()
        kwargs: dict[str, Any] = {
            "maintype": maintype or "application",
            "subtype": subtype or "octet-stream",
            "filename": attachment.filename,
        }
        if attachment.content_id:
            kwargs["cid"] = f"<{attachment.content_id.strip('<>')}>"
        html_part = mime.get_body(preferencelist=("related", "html")) if message.html else None
        if attachment.inline and attachment.content_id and html_part is not None:
            # multipart/related beside the HTML that shows it: mail clients resolve cid:
            # there, and do not list the image as a separate attachment.
            html_part.add_related(content, disposition="inline", **kwargs)
        else:
            mime.add_attachment(
                content, disposition="inline" if attachment.inline else "attachment", **kwargs
            )
    return mime


def render_mime(mime: MimeMessage) -> bytes:
    mime.rendered = None
    mime.rendered = mime.as_bytes()
    return mime.rendered
