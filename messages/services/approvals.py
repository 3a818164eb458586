"""The approval queue and scheduled sends: every move of a held or scheduled message is one
conditional UPDATE (WHERE status = the expected one), so approving twice, approving while
someone cancels, or two sweeps in two workers move a message once, and only the move that
happened hands it to the worker."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inboxes.models import Inbox, Organization
from messages.exceptions import MessageNotHeld, RecipientBlocked
from messages.models import Message, Thread
from messages.payloads import prefetch_rows, preview_of
from messages.services.handoff import hand_to_worker, record_message_event
from messages.services.lists import check_send_recipients
from messages.services.policies import pause_hold
from messages.services.provenance import SYSTEM, Actor
from sendook.events.models import EventType
from sendook.exceptions import ValidationFailed

Status = Message.Status


def _move(message: Message, expected: Iterable[str], status: str, **changes: object) -> None:
    """The conditional UPDATE; on success the instance shows the new state."""
    expected = list(expected)
    changes = {"status": status, "updated_at": timezone.now(), **changes}
    moved = Message.objects.filter(pk=message.pk, status__in=expected).update(**changes)
    if not moved:
        current = Message.objects.filter(pk=message.pk).values_list("status", flat=True).first()
        wanted = " or ".join(expected)
        reason = f"The message is {current}, not {wanted}."
        raise MessageNotHeld(reason, fields={"status": [reason]})
    for name, value in changes.items():
        setattr(message, name, value)


def _go(message: Message, *, now: datetime) -> str:
    """Where an approved message goes: the worker, or back to wait for its sendAt."""
    return Status.SCHEDULED if message.send_at and message.send_at > now else Status.QUEUED


@transaction.atomic
def approve_message(
    message: Message,
    *,
    by: Actor,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
) -> Message:
    """Approve a held send, optionally edited; the sender's own words are kept in `review`."""
    now = timezone.now()
    edits = {
        name: value
        for name, value in (("subject", subject), ("text", text), ("html", html))
        if value is not None and value != getattr(message, name)
    }
    changes: dict[str, object] = {"approved_by": dict(by), "approved_at": now, **edits}
    if edits:
        if not (edits.get("text", message.text) or edits.get("html", message.html)):
            raise ValidationFailed.for_field("text", "Provide text or html (or both).")
        changes["review"] = {
            "originalSubject": message.subject,
            "originalText": message.text,
            "originalHtml": message.html,
        }
    status = _go(message, now=now)
    # A recipient blocked since the send was held is not sent to (422, the message stays held).
    check_send_recipients(message.inbox, {"to": message.to, "cc": message.cc, "bcc": message.bcc})
    _move(message, [Status.PENDING_APPROVAL], status, **changes)
    if "text" in edits or "html" in edits:
        _refresh_preview(message)
    record_message_event(message, EventType.MESSAGE_APPROVED)
    if status == Status.QUEUED:
        hand_to_worker(message)
    else:
        record_message_event(message, EventType.MESSAGE_SCHEDULED)
    return message


def _refresh_preview(message: Message) -> None:
    """The thread list shows what will be sent, not the draft the approver replaced."""
    newest = (
        Message.objects.filter(thread_id=message.thread_id)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    if newest == message.pk:
        Thread.objects.filter(pk=message.thread_id).update(
            preview=preview_of(message.text, message.html)
        )


@transaction.atomic
def reject_message(message: Message, *, by: Actor, reason: str = "") -> Message:
    _move(
        message,
        [Status.PENDING_APPROVAL],
        Status.DECLINED,
        declined_by=dict(by),
        declined_at=timezone.now(),
        status_reason=reason,
    )
    record_message_event(message, EventType.MESSAGE_DECLINED)
    return message


@transaction.atomic
def cancel_message(message: Message, *, by: Actor) -> Message:
    """Take back a send before it goes: while it waits for approval or for its sendAt."""
    _move(
        message,
        [Status.SCHEDULED, Status.PENDING_APPROVAL],
        Status.CANCELLED,
        status_reason=f"Cancelled by {by['name']}"[:1000],
    )
    record_message_event(message, EventType.MESSAGE_CANCELLED)
    return message


def release_scheduled_messages(*, limit: int = 500) -> int:
    """The sweep: due scheduled messages go to the worker, or are held if sending was paused
    meanwhile (the pause switch stops everything not yet sent; the approval policies were
    decided when the send was accepted). Rows are claimed FOR UPDATE SKIP LOCKED, so two
    sweeps in two workers take different rows; the conditional UPDATE guards the rest."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.SCHEDULED, send_at__lte=now)
            .select_related("organization", "inbox", "inbox__organization", "thread")
            .order_by("send_at", "id")[:limit]
        )
        released = 0
        for message in due:
            hold = pause_hold(message.inbox, [*message.to, *message.cc, *message.bcc])
            try:
                if hold is None:
                    _move(message, [Status.SCHEDULED], Status.QUEUED)
                    hand_to_worker(message)
                else:
                    _move(message, [Status.SCHEDULED], Status.PENDING_APPROVAL, hold=hold.as_dict())
                    prefetch_rows(message, "attachments", list(message.attachments.all()))
                    record_message_event(message, EventType.MESSAGE_PENDING_APPROVAL)
            except MessageNotHeld:
                continue  # cancelled meanwhile (SQLite, which has no row locks)
            released += 1
    return released


def release_paused_messages(
    organization: Organization, *, by: Actor = SYSTEM, inbox: Inbox | None = None
) -> int:
    """`POST /v1/approvals/release`: approve every message held by a pause switch (the
    organization's or one inbox's), each recorded as approved by the caller."""
    reasons = ["organization_paused", "inbox_paused"]
    rows = Message.objects.filter(
        organization=organization, status=Status.PENDING_APPROVAL, hold__reason__in=reasons
    )
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    released = 0
    for message in rows.select_related("organization", "inbox", "thread").order_by("id"):
        try:
            approve_message(message, by=by)
        except (MessageNotHeld, RecipientBlocked):
            continue  # decided meanwhile, or to a recipient blocked since: it stays held
        released += 1
    return released
