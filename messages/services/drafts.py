"""Drafts: messages with `status: "draft"`, written (often by an agent), edited (often by a
person) and sent later through the one send path (messages.services.send.admit_send: limits,
suppressions, the sending domain and the send policy), keeping their row and id.

A draft is not mail yet: it is not counted in its thread's summary (messageCount, preview,
participants), the API's message and thread lists leave it out (it is listed under /drafts),
and it never reaches the worker. A new draft gets a thread of its own that no list shows until
the draft is sent; a reply draft (`inReplyTo`) sits in its parent's thread, which the staff UI
shows it in, marked as a draft.

Every change locks the draft's row and checks it is still a draft, so a draft is sent once
however many sends race, and a send racing an edit or a delete sends what one of them left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inboxes.addresses import addr_spec
from inboxes.models import Inbox
from messages.exceptions import DraftNotEditable, DraftNotFound
from messages.models import Attachment, Message, Thread
from messages.payloads import prefetch_rows
from messages.services import handoff
from messages.services.collisions import check_collision
from messages.services.provenance import SYSTEM, Actor
from messages.services.send import (
    NewAttachment,
    Sender,
    admit_send,
    check_limits,
    reply_recipients,
    store_attachments,
    threading_headers,
)
from messages.services.threads import add_to_thread, lock_thread, reply_subject, thread_key
from sendook.events.models import EventType
from sendook.exceptions import ValidationFailed

Status = Message.Status

# The columns a draft's author may change (PATCH, the staff UI's draft form).
EDITABLE = ("to", "cc", "bcc", "reply_to", "subject", "text", "html", "labels", "send_at")


def _check(message: Message, attachments: Sequence[NewAttachment] | None) -> None:
    """The send's own limits, already while drafting (an over-long draft is refused now, not
    when someone presses send)."""
    stored = [] if attachments is not None else list(message.attachments.all())
    check_limits(
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        text=message.text,
        html=message.html,
        attachments=attachments or [],
        copied_bytes=sum(row.size for row in stored),
    )


def _drop_attachments(message: Message) -> None:
    """A draft's attachment rows, and their bytes once the change commits (a draft's files
    are its own: nothing else points at them)."""
    rows = list(message.attachments.all())
    names = [row.file.name for row in rows if row.file.name]
    storage = Attachment._meta.get_field("file").storage  # type: ignore[attr-defined]
    Attachment.objects.filter(pk__in=[row.pk for row in rows]).delete()

    def remove() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove)


def _own_thread(inbox: Inbox, subject: str) -> Thread:
    """A new draft's thread: empty (messageCount 0, no activity) until the draft is sent."""
    return Thread.objects.create(
        organization_id=inbox.organization_id,
        inbox=inbox,
        subject=subject,
        normalized_subject=thread_key(subject),
    )


@transaction.atomic
def create_draft(
    inbox: Inbox,
    *,
    fields: Mapping[str, Any],
    attachments: Sequence[NewAttachment] = (),
    parent: Message | None = None,
    created_by: Actor | None = None,
) -> Message:
    """`fields` are EDITABLE columns, each optional. With `parent`, a reply draft: it joins
    the parent's thread and starts with the reply's subject, recipients and threading
    headers, any of which `fields` overrides."""
    values: dict[str, Any] = {name: fields[name] for name in EDITABLE if name in fields}
    if parent is not None:
        me = inbox.email.lower()
        values.setdefault(
            "to", [value for value in reply_recipients(parent) if addr_spec(value) != me]
        )
        values.setdefault("subject", reply_subject(parent.subject))
    message = Message(
        organization=inbox.organization,
        inbox=inbox,
        direction=Message.Direction.OUTBOUND,
        status=Status.DRAFT,
        created_by=dict(created_by or SYSTEM),
        from_inbox=inbox,
        from_email=inbox.email,
        from_name=inbox.name,
        in_reply_to=parent.message_id if parent is not None else "",
        references=threading_headers(parent) if parent is not None else [],
        **values,
    )
    _check(message, attachments)
    message.message_id = f"<{message.public_id}@{inbox.domain_name}>"
    message.thread = parent.thread if parent is not None else _own_thread(inbox, message.subject)
    message.save()
    store_attachments(message, attachments)
    handoff.record_message_event(message, EventType.DRAFT_CREATED)
    return message


def _lock(draft: Message) -> Message:
    """The draft's row, locked; anything but a draft is a 409 naming its status."""
    locked = (
        Message.objects.select_for_update(of=("self",))
        .select_related("organization", "inbox", "thread")
        .filter(pk=draft.pk)
        .first()
    )
    if locked is None:
        raise DraftNotFound()
    if locked.status != Status.DRAFT:
        reason = f"The message is {locked.status}, no longer a draft."
        raise DraftNotEditable(reason, fields={"status": [reason]})
    locked.inbox.organization = locked.organization
    return locked


def _alone_in_thread(message: Message) -> bool:
    return message.thread.message_count == 0 and not message.in_reply_to


@transaction.atomic
def update_draft(
    draft: Message,
    *,
    fields: Mapping[str, Any],
    attachments: Sequence[NewAttachment] | None = None,
) -> Message:
    """Change the given EDITABLE columns; `attachments`, when given, replace the draft's."""
    message = _lock(draft)
    for name in EDITABLE:
        if name in fields:
            setattr(message, name, fields[name])
    _check(message, attachments)
    message.save()
    if attachments is not None:
        _drop_attachments(message)
        store_attachments(message, attachments)
    if _alone_in_thread(message) and message.thread.subject != message.subject:
        message.thread.subject = message.subject
        message.thread.normalized_subject = thread_key(message.subject)
        message.thread.save(update_fields=["subject", "normalized_subject", "updated_at"])
    handoff.record_message_event(message, EventType.DRAFT_UPDATED)
    return message


@transaction.atomic
def delete_draft(draft: Message) -> None:
    """A draft sent (or being sent) meanwhile is not deleted: 409 naming its status."""
    message = _lock(draft)
    thread = message.thread
    alone = _alone_in_thread(message)
    handoff.record_message_event(message, EventType.DRAFT_DELETED)
    _drop_attachments(message)
    message.delete()
    if alone and not thread.messages.exists():
        thread.delete()


def _complete(message: Message, stored: list[Attachment]) -> None:
    """What a send needs that a draft may still lack, named by field."""
    if not message.to:
        raise ValidationFailed.for_field("to", "Add at least one recipient before sending.")
    if not (message.text or message.html):
        raise ValidationFailed.for_field("text", "Provide text or html (or both).")
    if len(stored) > settings.SENDOOK_MAX_ATTACHMENTS:
        raise ValidationFailed.for_field(
            "attachments", f"At most {settings.SENDOOK_MAX_ATTACHMENTS} attachments."
        )


def _actor_key(actor: dict) -> tuple[object, object]:
    return actor.get("type"), actor.get("id")


@transaction.atomic
def send_draft(draft: Message, *, sender: Sender | None = None) -> Message:
    """Send the draft as it is now: validated as a complete send, then admitted by the send
    policy exactly like a new send (`queued`, `scheduled` or `pending_approval`). The row
    keeps its id and its author (createdBy); its date becomes the moment it was sent."""
    sender = sender or Sender()
    message = _lock(draft)
    inbox = message.inbox
    stored = list(message.attachments.order_by("id"))
    _complete(message, stored)
    now = timezone.now()
    send_at = message.send_at if message.send_at and message.send_at > now else None
    admission = admit_send(
        inbox,
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        text=message.text,
        html=message.html,
        attachments=(),
        copied_bytes=sum(row.size for row in stored),
        sender=replace(sender, send_at=send_at),
    )
    # The row lock already serializes sends on PostgreSQL; the conditional UPDATE keeps a
    # draft sent once where there are no row locks (SQLite).
    if not Message.objects.filter(pk=message.pk, status=Status.DRAFT).update(
        status=admission.status
    ):
        raise DraftNotEditable("The message is no longer a draft.")
    thread = lock_thread(message.thread_id)
    # A reply draft is a send on its thread: an API key may not send it once a person has
    # taken the thread (409 thread_assigned), as for a reply.
    check_collision(thread, sender=sender)
    message.status = admission.status
    if _actor_key(sender.created_by) != _actor_key(message.created_by):
        message.sent_by = sender.created_by
    message.hold = admission.hold.as_dict() if admission.hold else {}
    message.send_at = admission.send_at
    message.from_email = inbox.email
    message.from_name = inbox.name
    message.created_at = now
    message.save()
    if thread.message_count == 0:
        # A draft's own thread takes the subject it is sent with.
        thread.subject = ""
    message.thread = add_to_thread(thread, message)
    prefetch_rows(message, "attachments", stored)
    handoff.start(message)
    return message
