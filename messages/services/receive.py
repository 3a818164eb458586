"""Receiving mail: store the raw bytes first, then parse, route, dedupe, thread and store.

Every way in (SES via SNS or S3, Anymail inbound webhooks, the SMTP listener, the CLI) calls
`receive_raw_email`, which commits the raw record before anything else and enqueues
`process_inbound_email` on commit. Processing is safe to run again on the same record: messages
are deduplicated per inbox by Message-ID (or by the record for mail without one).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from inboxes.addresses import routing_address, split_address
from inboxes.models import Inbox
from messages.exceptions import RawStorageFailed
from messages.models import Attachment, InboundEmail, Message
from messages.parsing import ParseError, ParseLimits, parse_email
from messages.payloads import message_payload, prefetch_rows
from messages.services import lists, threads, triage
from messages.services.enqueue import PROCESS_INBOUND_EMAIL, enqueue
from messages.services.provenance import inbound_actor
from messages.services.routing import Route, hosted_inboxes, resolve_recipients
from messages.services.threads import find_thread, indexable_text
from messages.services.trust import trust_signals
from sendook.events.models import EventType
from sendook.events.services import record_event

logger = logging.getLogger(__name__)

# Provider verdicts that, when failing, also become a label a user can filter on.
_VERDICT_LABELS = {"spam": "spam", "virus": "virus"}
_FAILING_VERDICTS = {"fail", "failed", "spam", "infected", "true", "yes"}
_AUTO_SUBMITTED_LABEL = "auto-submitted"
# The source of the copy Sendook stores when one hosted inbox mails another
# (services/delivery.py): the only mail whose sender inbox is known, not claimed.
LOCAL_SOURCE = "local"


# --- storing the raw message ------------------------------------------------------------------


def receive_raw_email(
    raw: bytes,
    *,
    recipients: list[str],
    source: str,
    notification_id: str = "",
    verdicts: dict[str, str] | None = None,
) -> InboundEmail:
    """Store `raw` durably and queue it for parsing; return the record.

    A provider redelivery (same `notification_id`) returns the first record and stores nothing.
    Raises RawStorageFailed when the bytes could not be stored, so the caller can make the
    sender retry (SMTP 451, HTTP 503) instead of losing the message.
    """
    # Redeliveries are caught by the unique constraint on insert rather than a lookup first:
    # they are the exception, and the lookup would cost every new message a query.
    notification_id = _clean(notification_id)[:255]
    record = InboundEmail(
        source=_clean(source)[:40],
        provider_notification_id=notification_id,
        envelope_recipients=[_clean(r).strip() for r in recipients if r and r.strip()],
        size=len(raw),
        verdicts={_clean(k): _clean(v) for k, v in (verdicts or {}).items()},
    )
    try:
        record.raw.save(f"{record.public_id}.eml", ContentFile(raw), save=False)
    except Exception as exc:  # any storage backend failure: the sender must retry
        logger.exception("inbound: could not store raw message from %s", source)
        raise RawStorageFailed() from exc
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: a duplicate leaves the caller's work alone
                record.save()
        else:
            # Autocommit: the INSERT commits on its own, two round trips fewer than BEGIN/COMMIT.
            record.save()
        # Runs now in autocommit, or once the caller's transaction commits.
        transaction.on_commit(lambda: enqueue_processing(record.pk))
    except IntegrityError:
        # A concurrent delivery of the same notification won the race: keep its record.
        record.raw.delete(save=False)
        existing = InboundEmail.objects.filter(provider_notification_id=notification_id).first()
        if existing is None:
            raise RawStorageFailed() from None
        return existing
    except DatabaseError as exc:
        record.raw.delete(save=False)
        logger.exception("inbound: could not record raw message from %s", source)
        raise RawStorageFailed() from exc
    return record


def enqueue_processing(inbound_id: int) -> None:
    try:
        enqueue(PROCESS_INBOUND_EMAIL, inbound_id)
    except Exception:  # broker down: the raw record is committed and stays pending
        logger.exception("inbound: could not enqueue processing of %s", inbound_id)


def reprocess_inbound_email(record: InboundEmail) -> InboundEmail:
    """Queue a quarantined or failed record (or any record) to run through the pipeline again."""
    with transaction.atomic():
        record.status = InboundEmail.Status.PENDING
        record.error = ""
        record.save(update_fields=["status", "error"])
        transaction.on_commit(lambda: enqueue_processing(record.pk))
    return record


def requeue_stale_inbound_emails(*, older_than: timedelta, limit: int = 500) -> int:
    """Re-enqueue records still pending after `older_than` (the broker was down when they
    arrived, or a worker died): raw mail is never left unparsed. Processing twice is safe."""
    cutoff = timezone.now() - older_than
    ids = list(
        InboundEmail.objects.filter(status=InboundEmail.Status.PENDING, created_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for inbound_id in ids:
        enqueue_processing(inbound_id)
    return len(ids)


def mark_inbound_failed(record: InboundEmail, error: BaseException) -> InboundEmail:
    # Reload: the failed run may have left the instance half-updated.
    attempts = InboundEmail.objects.filter(pk=record.pk).values_list("attempts", flat=True).first()
    record.attempts = (attempts or 0) + 1
    record.status = InboundEmail.Status.FAILED
    record.error = f"{type(error).__name__}: {error}"[:4000]
    record.save(update_fields=["status", "error", "attempts"])
    return record


# --- limits -----------------------------------------------------------------------------------


def inbound_parse_limits() -> ParseLimits:
    wanted: dict[str, Any] = {
        "max_bytes": settings.SENDOOK_INBOUND_MAX_BYTES,
        "max_parts": settings.SENDOOK_INBOUND_MAX_PARTS,
        "max_depth": settings.SENDOOK_INBOUND_MAX_DEPTH,
        "max_headers": settings.SENDOOK_INBOUND_MAX_HEADERS,
        "max_header_length": settings.SENDOOK_INBOUND_MAX_HEADER_BYTES,
        "max_seconds": settings.SENDOOK_INBOUND_PARSE_SECONDS,
    }
    known = {f.name for f in dataclasses.fields(ParseLimits)}
    return ParseLimits(**{name: value for name, value in wanted.items() if name in known})


# --- the pipeline -----------------------------------------------------------------------------


def process_inbound_email(record: InboundEmail, *, force: bool = False) -> list[Message]:
    """Parse a stored raw message once and deliver it to every hosted recipient inbox.

    Returns the messages created by this run (none for a redelivery or a quarantined record).
    Storage and database errors propagate (the task retries them); ParseError quarantines.
    """
    if record.status == InboundEmail.Status.PROCESSED and not force:
        return []
    # Counted with the outcome (or by mark_inbound_failed): one write per run, not two.
    record.attempts += 1

    with record.raw.open("rb") as handle:
        raw = handle.read()
    try:
        parsed = parse_email(raw, limits=inbound_parse_limits())
    except ParseError as exc:
        record.status = InboundEmail.Status.QUARANTINED
        record.quarantine_reason = str(getattr(exc, "reason", "") or "unparseable")[:255]
        record.error = str(exc)[:4000]
        record.processed_at = timezone.now()
        record.save(
            update_fields=["status", "quarantine_reason", "error", "processed_at", "attempts"]
        )
        logger.info("inbound: quarantined %s: %s", record.public_id, record.quarantine_reason)
        return []

    recipients = record.envelope_recipients or [
        _address(a)[0] for a in [*parsed.to, *parsed.cc] if _address(a)[0]
    ]
    sender = routing_address(_clean(_address(parsed.from_)[0])) if parsed.from_ else ""
    # One lookup answers both "who is this for" and "is the sender one of our inboxes".
    bases = {split_address(address)[0] for address in recipients} | {sender}
    hosted = hosted_inboxes({base for base in bases if base})
    routes, unknown = resolve_recipients(recipients, hosted=hosted)
    deliveries = [(route, _sender_inbox(record, hosted.get(sender), route)) for route in routes]
    created: list[Message] = []
    try:
        # One transaction for every inbox and the record's outcome: one commit per message.
        with transaction.atomic():
            for route, sender_inbox in deliveries:
                message = _deliver(record, parsed, route, sender_inbox=sender_inbox)
                if message is not None:
                    created.append(message)
            _mark_processed(record, unknown)
    except IntegrityError:
        # A concurrent run (or an earlier record of the same mail) stored it for one of these
        # inboxes first. Rare: redo it inbox by inbox, each in a savepoint, so the others land.
        for message in created:  # rolled back: their attachment files belong to nothing now
            for attachment in message.attachments.all():
                attachment.file.delete(save=False)
        created = []
        with transaction.atomic():
            for route, sender_inbox in deliveries:
                try:
                    with transaction.atomic():
                        message = _deliver(record, parsed, route, sender_inbox=sender_inbox)
                except IntegrityError:
                    message = None
                if message is not None:
                    created.append(message)
            _mark_processed(record, unknown)
    return created


def _sender_inbox(record: InboundEmail, inbox: Inbox | None, route: Route) -> Inbox | None:
    """The hosted inbox that sent this mail, only when Sendook itself sent it: the From header
    of mail from outside is whatever its sender wrote, so `From: desk@…` proves nothing."""
    if record.source != LOCAL_SOURCE:
        return None
    if inbox is not None and inbox.organization_id != route.inbox.organization_id:
        return None  # another tenant's inbox ids are not ours to show
    return inbox


def _mark_processed(record: InboundEmail, unknown: list[str]) -> None:
    record.status = InboundEmail.Status.PROCESSED
    record.quarantine_reason = ""
    record.error = ""
    record.unknown_recipients = unknown
    record.processed_at = timezone.now()
    record.save(
        update_fields=[
            "status",
            "quarantine_reason",
            "error",
            "unknown_recipients",
            "processed_at",
            "attempts",
        ]
    )


def _deliver(
    record: InboundEmail, parsed: Any, route: Route, *, sender_inbox: Inbox | None
) -> Message | None:
    """Store the message for one inbox, inside the caller's transaction (it holds the thread
    lock until commit). None when this record already delivered it there."""
    inbox = route.inbox
    message_id = indexable_text(_clean(parsed.message_id)[:998])
    # Mail with a Message-ID is deduplicated by the (inbox, message_id) constraint at
    # insert time; without one, by this record (a re-run of the same raw message).
    if not message_id and (Message.objects.filter(inbox=inbox, inbound_email=record).exists()):
        return None

    from_email, from_name = _address(parsed.from_) if parsed.from_ else ("", "")
    participants = _participants(parsed)
    subject = _clean(parsed.subject)
    text = _clean(parsed.text)
    extracted_text = _clean(parsed.extracted_text)
    thread, rule = find_thread(inbox, parsed, participants=participants)
    verdicts = _verdicts(record, parsed)
    # Trust (services/lists.py): a sender on a receive block list is stored, raw kept, but
    # held back (read, outside the thread's summary, message.blocked) until a person releases it.
    listing = lists.receive_listing(inbox, _clean(from_email))
    listed = listing.kind if listing is not None else None
    blocked = listed == lists.BLOCK
    message = Message(
        organization=inbox.organization,
        inbox=inbox,
        direction=Message.Direction.INBOUND,
        status=Message.Status.BLOCKED if blocked else Message.Status.RECEIVED,
        status_reason=lists.blocked_reason(listing) if blocked and listing else "",
        is_read=blocked,
        from_inbox=sender_inbox,
        to_inbox=inbox,
        from_email=_clean(from_email)[:320],
        from_name=_clean(from_name)[:200],
        to=[_clean(_address(a)[0]) for a in parsed.to],
        cc=[_clean(_address(a)[0]) for a in parsed.cc],
        reply_to=[_clean(_address(a)[0]) for a in parsed.reply_to],
        subject=subject,
        text=text,
        html=_clean(parsed.html),
        extracted_text=extracted_text,
        labels=_labels(route, verdicts, auto_submitted=bool(parsed.auto_submitted)),
        verdicts=verdicts,
        trust=trust_signals(inbox=inbox, from_address=from_email, verdicts=verdicts, listed=listed),
        thread_rule=rule,
        inbound_email=record,
        message_id=message_id,
        in_reply_to=_clean(parsed.in_reply_to)[:998],
        references=[_clean(ref) for ref in parsed.references or []],
        sent_at=parsed.date,
        created_by=inbound_actor(record),
    )
    message.raw.name = record.raw.name  # the same stored bytes; no copy
    # Thread summaries are kept by services/threads.py, shared with the send path: a new
    # thread is written once, already describing its first message.
    message.thread = (
        threads.lock_thread(thread.pk)
        if thread
        else (lists.held_thread(message) if blocked else threads.new_thread(message))
    )
    # A concurrent run storing the same mail trips the (inbox, message_id) constraint: the
    # IntegrityError rolls back the caller's transaction or savepoint, thread included.
    message.save()
    attachments = [_attachment(message, part) for part in parsed.attachments]
    if attachments:
        Attachment.objects.bulk_create(attachments)  # one INSERT, however many parts
    prefetch_rows(message, "attachments", attachments)  # the event payload needs no query
    if thread is not None and not blocked:
        threads.add_to_thread(message.thread, message)
        if message.thread.status in triage.REOPENED_BY_INBOUND:
            # New mail on a closed or snoozed thread: it needs someone again.
            triage.reopen_on_inbound(message.thread, actor=message.created_by)
    record_event(
        inbox.organization,
        event_type=EventType.MESSAGE_BLOCKED if blocked else EventType.MESSAGE_RECEIVED,
        payload=message_payload(message),
        inbox_id=inbox.public_id,
        message_id=message.public_id,
    )
    return message


# --- helpers ----------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    """PostgreSQL text and jsonb cannot hold NUL; hostile mail can."""
    return (value or "").replace("\x00", "\ufffd")


def _address(value: Any) -> tuple[str, str]:
    """(email, display name) from the parser's address objects (or a plain string/tuple)."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value, ""
    if isinstance(value, tuple):
        name, email = value if len(value) == 2 else ("", value[0])
        return str(email), str(name or "")
    email = getattr(value, "email", None) or getattr(value, "addr_spec", None) or ""
    name = getattr(value, "name", None) or getattr(value, "display_name", None) or ""
    return str(email), str(name)


def _participants(parsed: Any) -> list[str]:
    result: list[str] = []
    for value in [parsed.from_, *parsed.to, *parsed.cc]:
        email = _clean(_address(value)[0]).lower() if value is not None else ""
        if email and email not in result:
            result.append(email)
    return result


def _verdicts(record: InboundEmail, parsed: Any) -> dict[str, Any]:
    """Who really sent it: SPF, DKIM (ARC) and DMARC computed by Sendook from the raw bytes, the
    SMTP connection facts and DNS, beside the verdicts the way in recorded from its own
    authenticated data (SES receipt verdicts from a signature-checked SNS notification). Headers
    inside the message (Authentication-Results, Received-SPF, X-SES-*-Verdict, X-Spam-*) are
    never believed: the sender can write them, and nothing tells a forged one from the one a
    provider added. Computed once per record (a message for several inboxes, a re-run after a
    conflict), and never raises: a check that cannot finish is a temperror/permerror verdict."""
    cached = getattr(record, "_authentication", None)
    if cached is not None:
        return dict(cached)
    from messages.services.authentication import authenticate

    from_address = _clean(_address(parsed.from_)[0]) if parsed.from_ else ""
    try:
        with record.raw.open("rb") as handle:
            raw = handle.read()
        verdicts = authenticate(raw, record=record, from_address=from_address)
    except Exception:  # a bug here must not lose the message: store it unverified
        logger.exception("inbound: could not authenticate %s", record.public_id)
        verdicts = {
            **dict(record.verdicts or {}),
            "spf": "temperror",
            "dkim": "temperror",
            "dmarc": "temperror",
            "checkedBy": "sendook",
            "domains": {"from": from_address.rpartition("@")[2].lower()},
            "reasons": {"dkim": "internal error while checking"},
        }
    record._authentication = verdicts  # type: ignore[attr-defined]
    return dict(verdicts)


def _labels(route: Route, verdicts: dict[str, str], *, auto_submitted: bool) -> list[str]:
    labels = list(route.labels)
    for name, label in _VERDICT_LABELS.items():
        if str(verdicts.get(name, "")).lower() in _FAILING_VERDICTS and label not in labels:
            labels.append(label)
    # Bounces, vacation replies, read receipts: agents should not answer these.
    if auto_submitted and _AUTO_SUBMITTED_LABEL not in labels:
        labels.append(_AUTO_SUBMITTED_LABEL)
    return labels


def _attachment(message: Message, part: Any) -> Attachment:
    """An unsaved attachment row whose bytes are already in storage."""
    content: bytes = part.content if isinstance(part.content, bytes) else bytes(part.content)
    attachment = Attachment(
        message=message,
        filename=_clean(part.filename or "attachment")[:255],
        content_type=_clean(part.content_type or "application/octet-stream")[:255],
        size=len(content),
        content_id=_clean(getattr(part, "content_id", ""))[:255],
        inline=bool(getattr(part, "inline", False)),
    )
    attachment.file.save(f"{attachment.public_id}", ContentFile(content), save=False)
    return attachment
