"""The addresses each inbox has exchanged mail with (the `first_contact` policy's memory).

Sent-to addresses are rows of Correspondent, written when a send is handed to the worker;
received-from addresses are the inbound messages' senders themselves (the
message_inbound_sender index on (inbox, lower(from_email))), so receiving mail writes nothing
more. One query asks both: a UNION of two index lookups."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.functions import Lower

from inboxes.addresses import addr_spec
from inboxes.models import Inbox
from messages.models import Correspondent, Message


def _specs(addresses: Iterable[str]) -> set[str]:
    specs = set()
    for address in addresses:
        spec = addr_spec(address) if address else ""
        if spec and len(spec) <= 320:
            specs.add(spec.lower())
    return specs


def known_correspondents(inbox: Inbox, addresses: Iterable[str]) -> set[str]:
    specs = _specs(addresses)
    if not specs:
        return set()
    sent_to = Correspondent.objects.filter(inbox=inbox, email__in=specs).values_list("email")
    received_from = (
        Message.objects.annotate(sender=Lower("from_email"))
        .filter(inbox=inbox, direction=Message.Direction.INBOUND, sender__in=specs)
        .order_by()
        .values_list("sender")
    )
    return {email for (email,) in sent_to.union(received_from)}


def remember_correspondents(inbox_id: int, addresses: Iterable[str]) -> None:
    specs = _specs(addresses)
    if specs:
        Correspondent.objects.bulk_create(
            [Correspondent(inbox_id=inbox_id, email=spec) for spec in specs],
            ignore_conflicts=True,
        )


def remember_recipients(message: Message) -> None:
    """A send handed to the worker: its recipients are no longer first contacts."""
    remember_correspondents(message.inbox_id, [*message.to, *message.cc, *message.bcc])
