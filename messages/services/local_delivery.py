"""Mail sent to an inbox hosted by this Sendook is also delivered into that inbox, so the whole
loop works offline (and mail between hosted inboxes never leaves the machine).

The copy goes through the same inbound pipeline as mail from any provider: the raw MIME the
worker built is stored as an InboundEmail (source "local") and parsed, routed (`+tag` →
label), deduplicated and threaded exactly like received mail.
"""

from __future__ import annotations

from inboxes.models import Inbox
from messages.addresses import addr_spec
from messages.models import InboundEmail, Message
from messages.services.receiving import receive_raw_email, resolve_recipients

LocalRecipients = dict[str, Inbox]


def local_recipients(message: Message) -> LocalRecipients:
    """{bare address: hosted inbox} for every to/cc/bcc recipient this Sendook hosts."""
    found: LocalRecipients = {}
    for value in [*message.to, *message.cc, *message.bcc]:
        spec = addr_spec(value)
        if spec in found:
            continue
        routes, _ = resolve_recipients([spec])
        if routes:
            found[spec] = routes[0].inbox
    return found


def deliver_locally(message: Message, raw: bytes, recipients: LocalRecipients) -> InboundEmail | None:
    """Runs inside the sender's transaction: the raw record commits with the send, and is
    parsed after commit. The notification id makes a repeated send task store it once."""
    if not recipients:
        return None
    return receive_raw_email(
        raw,
        recipients=list(recipients),
        source="local",
        notification_id=f"local:{message.public_id}",
    )
