"""Mail sent to an inbox hosted by this Sendook is also delivered into that inbox, so the whole
loop works offline (and mail between hosted inboxes never leaves the machine).

The copy goes through the same inbound pipeline as mail from any provider: the raw MIME the
worker built is stored as an InboundEmail (source "local") and parsed, routed (`+tag` →
label), deduplicated and threaded exactly like received mail.
"""

from __future__ import annotations

from django.db.models.functions import Lower

from inboxes.addresses import addr_spec
from inboxes.models import Inbox
from messages.models import InboundEmail, Message
from messages.services.receive import LOCAL_SOURCE, receive_raw_email, split_address

LocalRecipients = dict[str, Inbox]


def local_recipients(message: Message) -> LocalRecipients:
    """{bare address: hosted inbox} for every to/cc/bcc recipient this Sendook hosts."""
    bases: dict[str, str] = {}
    for value in [*message.to, *message.cc, *message.bcc]:
        spec = addr_spec(value)
        base = split_address(spec)[0]  # what the inbound pipeline routes on (`+tag` dropped)
        if base:
            bases.setdefault(spec, base)
    if not bases:
        return {}
    # One query for all recipients, reading only what the sender records (to_inbox and its
    # public id); the inbound pipeline resolves the routes again when it parses the copy.
    hosted = {
        inbox.lower_email: inbox
        for inbox in Inbox.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=set(bases.values()))
        .only("public_id", "email")
    }
    return {spec: hosted[base] for spec, base in bases.items() if base in hosted}


def deliver_locally(message: Message, raw: bytes, recipients: LocalRecipients) -> InboundEmail | None:
    """Runs inside the sender's transaction: the raw record commits with the send, and is
    parsed after commit. The notification id makes a repeated send task store it once."""
    if not recipients:
        return None
    return receive_raw_email(
        raw,
        recipients=list(recipients),
        source=LOCAL_SOURCE,
        notification_id=f"local:{message.public_id}",
    )
