"""Mail sent to an inbox hosted by this Sendook is also delivered into that inbox directly, so
the whole loop works offline (and mail between hosted inboxes never leaves the machine).

The full inbound pipeline (raw MIME → parse → store) will take this over; until then the
received copy is built from the sent message's fields and shares its raw MIME and attachment
files (both immutable once written).
"""

from __future__ import annotations

from inboxes.models import Inbox
from inboxes.selectors import find_inbox_by_email
from messages import selectors
from messages.addresses import addr_spec, split_plus_tag
from messages.models import Attachment, Message
from messages.services.threads import add_to_thread, lock_thread, new_thread
from webhooks.models import EventType
from webhooks.services import record_event

LocalRecipients = dict[str, tuple[Inbox, str]]


def local_recipients(message: Message) -> LocalRecipients:
    """{bare address: (hosted inbox, +tag)} for every to/cc/bcc recipient hosted here."""
    found: LocalRecipients = {}
    for value in [*message.to, *message.cc, *message.bcc]:
        spec = addr_spec(value)
        if spec in found:
            continue
        base, tag = split_plus_tag(spec)
        inbox = find_inbox_by_email(base)
        if inbox is not None:
            found[spec] = (inbox, tag)
    return found


def deliver_locally(message: Message, recipients: LocalRecipients) -> list[Message]:
    """Runs inside the sender's transaction: the received copies commit with the send."""
    by_inbox: dict[int, tuple[Inbox, list[str]]] = {}
    for inbox, tag in recipients.values():
        labels = by_inbox.setdefault(inbox.pk, (inbox, []))[1]
        if tag and tag not in labels:
            labels.append(tag)
    attachments = list(message.attachments.all())
    delivered = []
    for inbox, labels in by_inbox.values():
        delivered.append(_receive_copy(message, inbox, labels, attachments))
    return delivered


def _receive_copy(message: Message, inbox: Inbox, labels: list[str], attachments: list[Attachment]) -> Message:
    parent = selectors.find_thread_message(inbox, [message.in_reply_to, *reversed(message.references)])
    received = Message(
        organization_id=inbox.organization_id,
        inbox=inbox,
        direction=Message.Direction.INBOUND,
        status=Message.Status.RECEIVED,
        from_inbox_id=message.inbox_id,
        to_inbox=inbox,
        from_email=message.from_email,
        from_name=message.from_name,
        to=list(message.to),
        cc=list(message.cc),
        reply_to=list(message.reply_to),
        subject=message.subject,
        text=message.text,
        html=message.html,
        labels=labels,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to,
        references=list(message.references),
        raw=message.raw.name,
    )
    thread = lock_thread(parent.thread_id) if parent else new_thread(received)
    received.thread = thread
    received.save()
    for attachment in attachments:
        Attachment.objects.create(
            message=received,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            content_id=attachment.content_id,
            inline=attachment.inline,
            file=attachment.file.name,
        )
    if parent:
        add_to_thread(thread, received)
    from messages.services.sending import message_payload

    record_event(
        inbox.organization,
        event_type=EventType.MESSAGE_RECEIVED,
        payload=message_payload(received),
        inbox_id=inbox.public_id,
        message_id=received.public_id,
    )
    return received
