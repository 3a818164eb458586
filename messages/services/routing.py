"""Which hosted inboxes an address reaches: case-insensitive, `name+tag@` → `name@` with the
label "tag". The inbound pipeline routes on it, the SMTP listener refuses other recipients with
it, and the worker asks it which recipients of a send are delivered here rather than sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from inboxes.addresses import addr_spec, split_address
from inboxes.models import Inbox
from messages.models import ListEntry, Message


@dataclass
class Route:
    inbox: Inbox
    labels: list[str] = field(default_factory=list)


def hosted_inboxes(addresses: set[str], *, columns: tuple[str, ...] = ()) -> dict[str, Inbox]:
    """Inboxes by lower-cased address, in one query (the Lower(email) index), with their
    organization; with `columns`, only those columns."""
    if not addresses:
        return {}
    rows = (
        Inbox.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=addresses)
        .order_by()  # read into a dict: Inbox's default ordering would only add a sort
    )
    if columns:
        rows = rows.only(*columns)
    else:
        # Whether the inbox or its organization has receive list entries at all: the inbound
        # pipeline looks the sender up only then (messages/services/lists.py).
        entries = ListEntry.objects.filter(
            Q(inbox__isnull=True) | Q(inbox=OuterRef("pk")),
            organization=OuterRef("organization_id"),
            direction=ListEntry.Direction.RECEIVE,
        )
        rows = rows.select_related("organization").annotate(receive_listed=Exists(entries))
    return {inbox.lower_email: inbox for inbox in rows}


def resolve_recipients(
    addresses: list[str], *, hosted: dict[str, Inbox] | None = None
) -> tuple[list[Route], list[str]]:
    """Hosted inboxes for the envelope recipients (case-insensitive, `+tag` → label), and the
    addresses no inbox hosts."""
    wanted = [(address, *split_address(address)) for address in addresses]
    if hosted is None:
        hosted = hosted_inboxes({base for _, base, _ in wanted if base})
    routes: dict[int, Route] = {}
    unknown: list[str] = []
    for address, base, tag in wanted:
        inbox = hosted.get(base)
        if inbox is None:
            if address not in unknown:
                unknown.append(address)
            continue
        route = routes.setdefault(inbox.pk, Route(inbox))
        if tag and tag not in route.labels:
            route.labels.append(tag)
    return list(routes.values()), unknown


def is_hosted_address(address: str) -> bool:
    routes, _ = resolve_recipients([address])
    return bool(routes)


LocalRecipients = dict[str, Inbox]


def local_recipients(message: Message) -> LocalRecipients:
    """{bare address: hosted inbox} for every to/cc/bcc recipient this Sendook hosts."""
    bases: dict[str, str] = {}
    for value in [*message.to, *message.cc, *message.bcc]:
        spec = addr_spec(value)
        base = split_address(spec)[0]  # what the inbound pipeline routes on (`+tag` dropped)
        if base:
            bases.setdefault(spec, base)
    # One query for all recipients, reading only what the sender records (to_inbox and its
    # public id); the inbound pipeline resolves the routes again when it parses the copy.
    hosted = hosted_inboxes(set(bases.values()), columns=("public_id", "email"))
    return {spec: hosted[base] for spec, base in bases.items() if base in hosted}
