"""The outbound worker's service: claim a queued message, build its MIME (services/mime.py),
hand it to the Django email backend (Anymail's SES backend in production, the sandbox by
default) and record the outcome. Mail to inboxes hosted here is also delivered into them, through
the inbound pipeline, so the whole loop works offline.

Safe to run twice: the message row is locked and a message that is no longer queued is left
alone, so a task redelivered after a recorded send does not send again.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from inboxes.addresses import addr_spec, format_mailbox
from inboxes.selectors import sending_domain_verified
from messages.exceptions import PermanentSendError, TransientSendError, UnrecordedSend
from messages.models import Attachment, InboundEmail, Message
from messages.payloads import prefetch_rows
from messages.services import routing
from messages.services.handoff import record_message_event
from messages.services.mime import MimeMessage, build_mime, render_mime
from messages.services.receive import LOCAL_SOURCE, receive_raw_email
from sendook.events.models import EventType
from sendook.events.subscribers import anyone_listening

logger = logging.getLogger(__name__)

TRANSIENT_AWS_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
    "LimitExceededException",
}


class PrebuiltEmail(DjangoEmailMessage):
    """A Django EmailMessage whose MIME is the one we built.

    Backends take the envelope from from_email/to/cc/bcc (Anymail's SES backend passes them as
    Destination) and the content from message(); Anymail SES sends message().as_bytes() as
    Content.Raw unchanged when no part is 8bit, which MIME_POLICY guarantees.
    """

    def __init__(
        self, mime: MimeMessage, *, from_email: str, to: list[str], cc: list[str], bcc: list[str]
    ) -> None:
        super().__init__(subject="", body="", from_email=from_email, to=to, cc=cc, bcc=bcc)
        self.mime = mime

    def message(self, *args: Any, **kwargs: Any) -> MimeMessage:
        return self.mime


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
    # deliver_message's lock already asked whether any webhook is enabled: when none is,
    # there is nothing to fan out to and no need to ask again.
    record_message_event(message, event_type, notify=getattr(message, "has_webhooks", True))


SEND_FIELDS = ["status", "raw", "send_attempts", "next_attempt_at", "updated_at"]

# The reason a message ends with when a worker handed it to the provider and stopped before
# recording what the provider said: it may have gone out, so it is never sent again blindly.
OUTCOME_UNKNOWN = (
    "The worker stopped while handing this message to the provider, so whether it went out "
    "is unknown; it was not sent again, to avoid a duplicate. Check with the recipient or "
    "resend it."
)


def _lock(message_pk: int) -> Message:
    # One statement locks and loads the message and answers two questions that otherwise
    # took a query each on every send: does it have attachments, and does its organization
    # have an enabled webhook (most sends: no and no).
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("organization", "inbox", "thread")
        .annotate(
            has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))),
            has_webhooks=anyone_listening(OuterRef("organization")),
        )
        .get(pk=message_pk)
    )


def _fail(message: Message, reason: str) -> Message:
    message.status = Message.Status.FAILED
    message.status_reason = reason[:500]
    message.next_attempt_at = None
    message.save(update_fields=[*SEND_FIELDS, "status_reason", "send_claimed_at"])
    _record(message, EventType.MESSAGE_FAILED)
    return message


def _claim(message_pk: int) -> tuple[Message, Any, bytes, dict[str, list[str]], Any] | Message:
    """First transaction: check the message is still to be sent, build it, and mark it claimed
    (committed before the provider is called). Returns the message alone when there is
    nothing to send."""
    with transaction.atomic():
        message = _lock(message_pk)
        if message.status != Message.Status.QUEUED:
            return message
        if message.send_claimed_at is not None:
            # An earlier run handed it to the provider and never recorded the answer.
            lease = timedelta(seconds=settings.SENDOOK_SEND_CLAIM_SECONDS)
            if timezone.now() - message.send_claimed_at < lease:
                return message  # probably still in that run's provider call: leave it be
            logger.warning("send: outcome of %s unknown; not resending", message.public_id)
            return _fail(message, OUTCOME_UNKNOWN)
        if not sending_domain_verified(message.inbox):
            # The domain lapsed between accept and delivery: nothing leaves from it.
            return _fail(message, f"{message.inbox.domain_name} is no longer a verified domain")
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
            return _fail(message, f"The message could not be built: {exc}")
        if not message.raw:
            message.raw.save(f"{message.public_id}.eml", ContentFile(raw), save=False)
        local = routing.local_recipients(message)
        remote = {
            field: [value for value in getattr(message, field) if addr_spec(value) not in local]
            for field in ("to", "cc", "bcc")
        }
        message.send_attempts += 1
        if any(remote.values()):
            message.send_claimed_at = timezone.now()
        message.save(update_fields=[*SEND_FIELDS, "send_claimed_at"])
    return message, mime, raw, remote, local


def deliver_message(message_pk: int, *, sent_external_id: str | None = None) -> Message:
    """Send one queued message: claim it (commit), call the provider outside any transaction,
    record the answer in a second transaction — so a database that dies after the provider
    accepted never makes the retry send it again.

    Raises TransientSendError (the claim released, nothing sent) to be retried, and
    UnrecordedSend when the provider accepted but the recording failed; the task then calls
    again with `sent_external_id`, which records without calling the provider."""
    if sent_external_id is not None:
        return _record_sent(message_pk, sent_external_id)
    claimed = _claim(message_pk)
    if isinstance(claimed, Message):
        return claimed
    message, mime, raw, remote, local = claimed
    external_id = ""
    if any(remote.values()):
        try:
            external_id = _provider_send(message, mime, remote)
        except PermanentSendError as exc:
            with transaction.atomic():
                message = _lock(message_pk)
                message.send_claimed_at = None
                return _fail(message, str(exc))
        except TransientSendError:
            # Nothing went out: release the claim so the retry may send.
            Message.objects.filter(pk=message_pk).update(send_claimed_at=None)
            raise
    try:
        return _record_sent(message_pk, external_id, claimed=message, raw=raw, local=local)
    except Exception as exc:
        if not any(remote.values()):
            raise  # nothing left the machine: the retry simply starts over
        raise UnrecordedSend(external_id, exc) from exc


def _record_sent(
    message_pk: int,
    external_id: str,
    *,
    claimed: Message | None = None,
    raw: bytes | None = None,
    local: routing.LocalRecipients | None = None,
) -> Message:
    """Second transaction: the provider's answer, the sent event and the local copies.

    With the message this run claimed, one conditional UPDATE records it (the claim still
    being ours is the condition); otherwise (a retried recording, or the claim changed) the
    row is locked and read again."""
    now = timezone.now()
    with transaction.atomic():
        message = claimed
        if message is not None:
            changes = {
                "status": Message.Status.SENT,
                "status_reason": "",
                "external_message_id": external_id[:255],
                "sent_at": now,
                "next_attempt_at": None,
                "send_claimed_at": None,
                "updated_at": now,
            }
            if local:
                changes["to_inbox"] = next(iter(local.values()))
            still_ours = Message.objects.filter(
                pk=message_pk, status=Message.Status.QUEUED, send_claimed_at=message.send_claimed_at
            ).update(**changes)
            if still_ours:
                for name, value in changes.items():
                    setattr(message, name, value)
            else:
                message = None
        if message is None:
            message = _lock(message_pk)
            # A message failed as "outcome unknown" that turns out to have gone out is sent.
            unknown = (
                message.status == Message.Status.FAILED
                and message.status_reason == OUTCOME_UNKNOWN[:500]
            )
            if message.status != Message.Status.QUEUED and not unknown:
                return message
            if local is None:
                local = routing.local_recipients(message)
            message.status = Message.Status.SENT
            message.status_reason = ""
            message.external_message_id = external_id[:255]
            message.sent_at = now
            message.next_attempt_at = None
            message.send_claimed_at = None
            if local:
                message.to_inbox = next(iter(local.values()))
            message.save(
                update_fields=[
                    *SEND_FIELDS,
                    "external_message_id",
                    "sent_at",
                    "to_inbox",
                    "send_claimed_at",
                    "status_reason",
                ]
            )
        if raw is None:
            with message.raw.open("rb") as handle:
                raw = handle.read()
        _record(message, EventType.MESSAGE_SENT)
        deliver_locally(message, raw, local or {})
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


def deliver_locally(
    message: Message, raw: bytes, recipients: routing.LocalRecipients
) -> InboundEmail | None:
    """The copy for hosted recipients goes through the same inbound pipeline as mail from any
    provider: stored raw as an InboundEmail (source "local"), then parsed, routed (`+tag` →
    label), deduplicated and threaded like received mail. Runs inside the sender's transaction,
    so the raw record commits with the send; the notification id makes a repeated send task
    store it once."""
    if not recipients:
        return None
    return receive_raw_email(
        raw,
        recipients=list(recipients),
        source=LOCAL_SOURCE,
        notification_id=f"local:{message.public_id}",
    )
