"""The outbound worker's service: build the MIME ourselves, hand it to the Django email backend
(Anymail's SES backend in production, the sandbox by default) and record the outcome.

Safe to run twice: the message row is locked and a message that is no longer queued is left
alone, so a task redelivered after a recorded send does not send again.
"""

from __future__ import annotations

import email.message
import email.policy
import logging
import smtplib
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from messages.addresses import addr_spec, format_mailbox
from messages.exceptions import PermanentSendError, TransientSendError
from messages.models import Attachment, Message
from messages.services import local_delivery
from messages.services.outbound import prefetch_rows
from messages.services.payloads import message_payload
from webhooks.models import EventType, Webhook
from webhooks.services import record_event

logger = logging.getLogger(__name__)

# 7bit: every part is quoted-printable or base64, so no backend (Anymail converts 8bit parts
# for SES) rewrites what we built, and the bytes we store are the bytes that are sent.
MIME_POLICY = email.policy.SMTP.clone(cte_type="7bit")

TRANSIENT_AWS_CODES = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
    "InternalFailure", "InternalServerError", "RequestTimeout", "LimitExceededException",
}


class MimeMessage(email.message.EmailMessage):
    """A stdlib message that also takes Django's `as_bytes(linesep=…)` (the SMTP backend), and
    hands backends the bytes render_mime() produced (the ones stored as Message.raw)."""

    rendered: bytes | None = None

    def as_bytes(self, unixfrom: bool = False, policy: Any = None, linesep: str | None = None) -> bytes:
        if self.rendered is not None and not unixfrom and policy is None and linesep in (None, "\r\n"):
            return self.rendered
        policy = policy or self.policy
        if linesep:
            policy = policy.clone(linesep=linesep)
        return super().as_bytes(unixfrom, policy)


class PrebuiltEmail(DjangoEmailMessage):
    """A Django EmailMessage whose MIME is the one we built.

    Backends take the envelope from from_email/to/cc/bcc (Anymail's SES backend passes them as
    Destination) and the content from message(); Anymail SES sends message().as_bytes() as
    Content.Raw unchanged when no part is 8bit, which MIME_POLICY guarantees.
    """

    def __init__(self, mime: MimeMessage, *, from_email: str, to: list[str], cc: list[str], bcc: list[str]) -> None:
        super().__init__(subject="", body="", from_email=from_email, to=to, cc=cc, bcc=bcc)
        self.mime = mime

    def message(self, *args: Any, **kwargs: Any) -> MimeMessage:
        return self.mime


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
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        with attachment.file.open("rb") as handle:
            content = handle.read()
        kwargs: dict[str, Any] = {"filename": attachment.filename}
        if attachment.content_id:
            kwargs["cid"] = f"<{attachment.content_id.strip('<>')}>"
        mime.add_attachment(
            content, maintype=maintype or "application", subtype=subtype or "octet-stream",
            disposition="inline" if attachment.inline else "attachment", **kwargs,
        )
    return mime


def render_mime(mime: MimeMessage) -> bytes:
    mime.rendered = None
    mime.rendered = mime.as_bytes()
    return mime.rendered


_connection: Any = None
_connection_key: Any = None


def email_connection() -> Any:
    """One open backend connection per worker process (a boto3 client is slow to create)."""
    global _connection, _connection_key
    key = (settings.EMAIL_BACKEND, repr(getattr(settings, "ANYMAIL", {})))
    if _connection is None or _connection_key != key:
        if _connection is not None:
            try:
                _connection.close()
            except Exception:  # a stale connection is dropped either way
                logger.warning("closing the email connection failed", exc_info=True)
        _connection = get_connection(fail_silently=False)
        _connection.open()
        _connection_key = key
    return _connection


def classify_send_error(exc: Exception) -> Exception:
    """Maps a backend exception to PermanentSendError or TransientSendError."""
    from anymail.exceptions import AnymailAPIError, AnymailError

    reason = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
    if isinstance(exc, AnymailAPIError):
        response = getattr(exc, "response", None)
        if not isinstance(response, dict):
            return TransientSendError(reason)  # no answer from the provider at all
        code = response.get("Error", {}).get("Code", "")
        http_status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
        if code in TRANSIENT_AWS_CODES or http_status >= 500 or http_status == 429:
            return TransientSendError(reason)
        return PermanentSendError(reason)
    if isinstance(exc, AnymailError):
        return PermanentSendError(reason)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return PermanentSendError(reason)
    if isinstance(exc, smtplib.SMTPResponseException):
        return PermanentSendError(reason) if exc.smtp_code >= 500 else TransientSendError(reason)
    return TransientSendError(reason)


def _provider_send(message: Message, mime: MimeMessage, recipients: dict[str, list[str]]) -> str:
    outgoing = PrebuiltEmail(
        mime,
        from_email=format_mailbox(message.inbox.name, message.inbox.email),
        to=recipients["to"],
        cc=recipients["cc"],
        bcc=recipients["bcc"],
    )
    try:
        sent = email_connection().send_messages([outgoing])
    except Exception as exc:
        error = classify_send_error(exc)
        if isinstance(error, TransientSendError):
            # Drop the connection: it may be what failed.
            global _connection
            _connection = None
        raise error from exc
    if not sent:
        raise TransientSendError("The email backend did not send the message")
    status = getattr(outgoing, "anymail_status", None)
    if status is not None and status.message_id:
        return str(status.message_id)
    return str(getattr(outgoing, "sandbox_id", ""))


def _record(message: Message, event_type: EventType) -> None:
    record_event(
        message.organization,
        event_type=event_type,
        payload=message_payload(message),
        inbox_id=message.inbox.public_id,
        message_id=message.public_id,
        # deliver_message's lock already asked whether any webhook is enabled: when none is,
        # there is nothing to fan out to and no need to ask again.
        webhooks=None if getattr(message, "has_webhooks", True) else [],
    )


SEND_FIELDS = ["status", "raw", "send_attempts", "next_attempt_at", "updated_at"]


def deliver_message(message_pk: int) -> Message:
    """Send one queued message. Raises TransientSendError (nothing recorded) to be retried."""
    with transaction.atomic():
        # One statement locks and loads the message and answers two questions that otherwise
        # took a query each on every send: does it have attachments, and does its organization
        # have an enabled webhook (most sends: no and no).
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("organization", "inbox", "thread")
            .annotate(
                has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))),
                has_webhooks=Exists(
                    Webhook.objects.filter(organization=OuterRef("organization"), enabled=True)
                ),
            )
            .get(pk=message_pk)
        )
        if message.status != Message.Status.QUEUED:
            return message
        if message.from_inbox_id == message.inbox_id:
            message.from_inbox = message.inbox
        attachments = list(message.attachments.order_by("id")) if message.has_attachments else []
        prefetch_rows(message, "attachments", attachments)
        try:
            mime = build_mime(message, attachments)
            raw = render_mime(mime)
        except (ValueError, TypeError, LookupError) as exc:
            # The API refuses what the stdlib cannot put in a header; should a value slip past
            # it, the message must end failed with the reason, not stay queued for ever.
            logger.exception("send: could not build the MIME of %s", message.public_id)
            message.status = Message.Status.FAILED
            message.status_reason = f"The message could not be built: {exc}"[:500]
            message.next_attempt_at = None
            message.save(update_fields=[*SEND_FIELDS, "status_reason"])
            _record(message, EventType.MESSAGE_FAILED)
            return message
        if not message.raw:
            message.raw.save(f"{message.public_id}.eml", ContentFile(raw), save=False)
        local = local_delivery.local_recipients(message)
        remote = {
            field: [value for value in getattr(message, field) if addr_spec(value) not in local]
            for field in ("to", "cc", "bcc")
        }
        message.send_attempts += 1
        external_id = ""
        try:
            if any(remote.values()):
                external_id = _provider_send(message, mime, remote)
        except PermanentSendError as exc:
            message.status = Message.Status.FAILED
            message.status_reason = str(exc)
            message.next_attempt_at = None
            message.save(update_fields=[*SEND_FIELDS, "status_reason"])
            _record(message, EventType.MESSAGE_FAILED)
            return message
        message.status = Message.Status.SENT
        message.external_message_id = external_id[:255]
        message.sent_at = timezone.now()
        message.next_attempt_at = None
        if local:
            message.to_inbox = next(iter(local.values()))
        message.save(update_fields=[*SEND_FIELDS, "external_message_id", "sent_at", "to_inbox"])
        _record(message, EventType.MESSAGE_SENT)
        local_delivery.deliver_locally(message, raw, local)
    return message


def defer_message(message_pk: int, *, seconds: int, reason: str) -> None:
    """A transient failure: note when the retry is due so the sweep does not jump the queue."""
    Message.objects.filter(pk=message_pk, status=Message.Status.QUEUED).update(
        next_attempt_at=timezone.now() + timedelta(seconds=seconds),
        status_reason=reason[:500],
        updated_at=timezone.now(),
    )


@transaction.atomic
def fail_message(message_pk: int, *, reason: str) -> Message:
    message = Message.objects.select_for_update().get(pk=message_pk)
    if message.status != Message.Status.QUEUED:
        return message
    message.status = Message.Status.FAILED
    message.status_reason = reason[:1000]
    message.next_attempt_at = None
    message.save()
    _record(message, EventType.MESSAGE_FAILED)
    return message


def stuck_messages(*, limit: int = 1000) -> list[int]:
    """Queued messages nobody is working on (a lost enqueue, a worker that died)."""
    from django.db.models import Q

    cutoff = timezone.now() - timedelta(seconds=settings.SENDOOK_REQUEUE_AFTER_SECONDS)
    ids = list(
        Message.objects.filter(status=Message.Status.QUEUED, updated_at__lt=cutoff)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    # Touch them so the next sweep does not enqueue them again while they wait in the queue.
    Message.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    return ids
