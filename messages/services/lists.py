"""Allow and block lists (API.md, Trust): per organization or per inbox, for receiving and for
sending, by address (`a@b.example`) or domain (`b.example`, its subdomains included).

Which entry decides, for one address:
- an inbox's entries and its organization's entries are read together;
- the most specific value wins: the address itself, then its domain, then each parent domain
  (`x.b.example` before `b.example`), so an inbox can allow `ceo@spam.example` inside an
  organization-wide block of `spam.example`;
- at the same value, block beats allow (wherever each is defined), so an inbox cannot undo
  an organization's block of that very value.

Receiving: a sender listed "block" is stored with status `blocked` (raw kept), read, outside
the thread's summary, announced as `message.blocked`; `release_message` runs it through the
rest of the received pipeline once (`message.released`, then `message.received`). Allow
entries only say so (`trust.listed`) and override broader blocks.

Sending: a recipient listed "block" is refused (422 `recipient_blocked`); once the inbox or
its organization has any send-allow entry, so is every recipient not listed "allow".

The reads of list entries live here rather than in messages.selectors: nothing else reads
them, and every one takes the organization.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inboxes.addresses import InvalidAddress, addr_spec, canonical_domain
from inboxes.models import Inbox, Organization
from messages.exceptions import (
    ListEntryExists,
    ListEntryNotFound,
    MessageNotBlocked,
    MessageNotFound,
    RecipientBlocked,
)
from messages.models import ListEntry, Message, Thread
from messages.payloads import message_payload
from messages.services import threads, triage
from messages.services.handoff import record_message_event
from messages.services.provenance import Actor
from sendook.api import format_timestamp
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.exceptions import ValidationFailed

Listed = Literal["allow", "block"]
ALLOW: Listed = "allow"
BLOCK: Listed = "block"

MAX_VALUE = 320
# An unquoted local part (RFC 5322 dot-atom); quoted local parts are not list material.
_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- values -----------------------------------------------------------------------------------


def _bad(value: str, why: str) -> ValidationFailed:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return ValidationFailed.for_field("value", f"{shown!r} is not an address or domain: {why}")


def _domain(value: str, domain: str) -> str:
    if not domain or domain != domain.strip():
        raise _bad(value, "the domain is missing.")
    try:
        ascii_domain = canonical_domain(domain)
    except InvalidAddress:
        raise _bad(value, "the domain is not a valid name.") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2 or not all(map(_LABEL.match, labels)):
        raise _bad(value, "use a domain name such as example.com (letters, digits, '-', dots).")
    if labels[-1].isdigit():
        raise _bad(value, "an IP address is not a domain.")
    return ascii_domain


def normalize_value(value: object) -> str:
    """`a@b.example` or `b.example`, lower-cased, the domain in its IDNA (A-label) form;
    anything else (empty, spaces, wildcards, URLs, `@` alone, over-long) → 400 naming value."""
    if not isinstance(value, str):
        raise ValidationFailed.for_field("value", "Must be a string: an address or a domain.")
    raw = value
    value = value.strip()
    if not value:
        raise ValidationFailed.for_field("value", "Enter an address (a@b.example) or a domain.")
    if len(value) > MAX_VALUE:
        raise _bad(raw, f"longer than {MAX_VALUE} characters.")
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise _bad(raw, "it contains spaces or control characters.")
    if "*" in value or "?" in value:
        raise _bad(raw, "wildcards are not needed: a domain includes its subdomains.")
    if "://" in value or "/" in value or "<" in value or ">" in value:
        raise _bad(raw, "enter the address or domain alone, not a URL or a display name.")
    value = value.rstrip(".") if "@" not in value else value
    if value.startswith("@"):
        # "@b.example" is what people type for "the whole domain": say what to write.
        raise _bad(raw, "for a whole domain, write it without the @ (b.example).")
    local, at, domain = value.rpartition("@")
    if not at:
        return _domain(raw, value.lower())
    local = local.lower()
    if not local or "@" in local or len(local) > 64 or not _LOCAL.match(local):
        raise _bad(raw, "the part before the @ is not a valid mailbox name.")
    address = f"{local}@{_domain(raw, domain.lower())}"
    if len(address) > MAX_VALUE:
        raise _bad(raw, f"longer than {MAX_VALUE} characters.")
    return address


def _candidates(address: str) -> list[str]:
    """The values that could list `address`, most specific first: itself, its domain, each
    parent domain. [] for something that is not an address."""
    spec = addr_spec(address) or address.strip().lower()
    local, at, domain = spec.rpartition("@")
    if not at or not local or not domain:
        return []
    try:
        domain = canonical_domain(domain)
    except InvalidAddress:
        return []
    labels = domain.split(".")
    return [f"{local}@{domain}", *(".".join(labels[i:]) for i in range(len(labels)))]


# --- reading ----------------------------------------------------------------------------------


def _scope(organization: Organization, inbox: Inbox | None) -> Q:
    """An inbox's entries and its organization's (inbox empty)."""
    where = Q(organization=organization, inbox__isnull=True)
    if inbox is not None:
        where |= Q(organization=organization, inbox=inbox)
    return where


def _decide(entries: Sequence[ListEntry], candidates: list[str]) -> ListEntry | None:
    best: ListEntry | None = None
    for entry in entries:
        if entry.value not in candidates:
            continue
        if best is None:
            best = entry
            continue
        rank, best_rank = candidates.index(entry.value), candidates.index(best.value)
        if rank < best_rank or (rank == best_rank and entry.kind == BLOCK):
            best = entry
    return best


def matching_entry(
    organization: Organization, *, inbox: Inbox | None, direction: str, address: str
) -> ListEntry | None:
    """The entry that decides for `address` (see the module's docstring), in one query on the
    list_lookup index."""
    candidates = _candidates(address)
    if not candidates:
        return None
    entries = list(
        ListEntry.objects.filter(_scope(organization, inbox))
        .filter(direction=direction, value__in=candidates)
        .order_by("id")
    )
    return _decide(entries, candidates)


def listed(
    organization: Organization, *, inbox: Inbox | None, direction: str, address: str
) -> Listed | None:
    """ "allow", "block" or None: what the lists say about `address` (trust.listed)."""
    entry = matching_entry(organization, inbox=inbox, direction=direction, address=address)
    return entry.kind if entry is not None else None  # type: ignore[return-value]


def check_send_recipients(
    inbox: Inbox, addresses: Sequence[str] | Mapping[str, Sequence[str]]
) -> None:
    """Raise RecipientBlocked (422, naming the first refused address) when a recipient is
    listed "block" for sending, or is not listed "allow" while send-allow entries exist.
    `addresses` may be {"to": [...], "cc": [...], "bcc": [...]}: the error then names the
    field (`to.0`, `bcc.1`) as the suppression check does."""
    fields = addresses if isinstance(addresses, Mapping) else {"to": addresses}
    wanted = [
        (f"{name}.{index}", value, _candidates(value))
        for name, values in fields.items()
        for index, value in enumerate(values)
        if value
    ]
    values = {value for _, _, candidates in wanted for value in candidates}
    scope = ListEntry.objects.filter(_scope(inbox.organization, inbox)).filter(
        direction=ListEntry.Direction.SEND
    )
    # One query: the entries naming these recipients, and any one allow entry (an inbox with
    # send-allow entries sends only to listed recipients).
    any_allow = scope.filter(kind=ListEntry.Kind.ALLOW).values("pk")[:1]
    matched = list(scope.filter(Q(value__in=values) | Q(pk__in=any_allow)).order_by("id"))
    allow_only = any(entry.kind == ALLOW for entry in matched)
    for field, value, candidates in wanted:
        entry = _decide(matched, candidates)
        spec = candidates[0] if candidates else value
        if entry is not None and entry.kind == BLOCK:
            reason = (
                f"{spec} is blocked for sending by {_where(entry)}'s send list "
                f"({entry.value}, {entry.public_id})."
            )
        elif allow_only and entry is None:
            reason = (
                f"{spec} is not on the send allow list: this inbox sends only to listed recipients."
            )
        else:
            continue
        raise RecipientBlocked(reason, address=spec, field=field)


def _where(entry: ListEntry) -> str:
    return "this inbox" if entry.inbox_id else "the organization"


def list_entries(
    organization: Organization,
    *,
    direction: str = "",
    kind: str = "",
    inbox: Inbox | None = None,
    inbox_ids: Collection[str] | None = None,
) -> QuerySet[ListEntry]:
    """The organization's entries (only those of `inbox`, when given); for a key limited to
    some inboxes, only theirs (never the organization-wide ones)."""
    rows = ListEntry.objects.filter(organization=organization).select_related("inbox")
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=list(inbox_ids))
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    if direction:
        rows = rows.filter(direction=direction)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def get_entry(
    organization: Organization, entry_id: str, *, inbox_ids: Collection[str] | None = None
) -> ListEntry:
    try:
        return list_entries(organization, inbox_ids=inbox_ids).get(public_id=entry_id)
    except ListEntry.DoesNotExist:
        raise ListEntryNotFound() from None


# --- changing ---------------------------------------------------------------------------------


def add_entry(
    organization: Organization,
    *,
    inbox: Inbox | None,
    direction: str,
    kind: str,
    value: object,
    actor: Actor,
) -> ListEntry:
    """A new entry; the same (scope, direction, kind, value) twice → 409 list_entry_exists."""
    if direction not in ListEntry.Direction.values:
        raise ValidationFailed.for_field("direction", "Must be receive or send.")
    if kind not in ListEntry.Kind.values:
        raise ValidationFailed.for_field("type", "Must be allow or block.")
    if inbox is not None and inbox.organization_id != organization.pk:
        raise ValidationFailed.for_field("inboxId", "Inbox not found.")
    normalized = normalize_value(value)
    entry = ListEntry(
        organization=organization,
        inbox=inbox,
        direction=direction,
        kind=kind,
        value=normalized,
        created_by=dict(actor),
    )
    try:
        with transaction.atomic():  # a savepoint: the duplicate leaves the caller's work alone
            entry.save()
    except IntegrityError:
        where = f"inbox {inbox.email}" if inbox is not None else "the organization"
        raise ListEntryExists(
            f"{normalized} is already on the {direction} {kind} list of {where}.",
            fields={"value": [f"{normalized} is already listed."]},
        ) from None
    return entry


def remove_entry(entry: ListEntry) -> ListEntry:
    """Deletes the entry; returns it as it was (DELETE answers with the deleted object).
    Mail already blocked stays blocked until released."""
    public_id = entry.public_id
    entry.delete()
    entry.public_id = public_id
    return entry


# --- the receive side -------------------------------------------------------------------------


def receive_listing(inbox: Inbox, sender: str) -> ListEntry | None:
    """For the inbound pipeline: the entry deciding about `sender`, skipping the query when
    routing already found the organization has no receive entries (`receive_listed`)."""
    if not sender or not getattr(inbox, "receive_listed", True):
        return None
    return matching_entry(
        inbox.organization, inbox=inbox, direction=ListEntry.Direction.RECEIVE, address=sender
    )


def blocked_reason(entry: ListEntry) -> str:
    return f"Sender blocked by {_where(entry)}'s receive list ({entry.value}, {entry.public_id})."


def held_thread(message: Message) -> Thread:
    """The thread a blocked message starts: it holds the message, but its summary (count,
    preview, participants) stays empty until the message is released, so no list shows what
    the blocked sender wrote."""
    thread = Thread(
        organization_id=message.organization_id,
        inbox_id=message.inbox_id,
        subject=message.subject,
        normalized_subject=threads.thread_key(message.subject),
        last_message_at=timezone.now(),
    )
    thread.save()
    return thread


def release_message(message: Message, *, actor: Actor) -> Message:
    """Deliver a blocked message as received mail, once: `message.released`, then
    `message.received` (webhooks get each once). The conditional UPDATE makes a second
    release, or a concurrent one on another connection, a 409 that changes nothing."""
    now = timezone.now()
    detail = {"releasedBy": dict(actor), "releasedAt": format_timestamp(now)}
    with transaction.atomic():
        moved = Message.objects.filter(pk=message.pk, status=Message.Status.BLOCKED).update(
            status=Message.Status.RECEIVED,
            status_reason="",
            status_detail=detail,
            is_read=False,
            updated_at=now,
        )
        if not moved:
            current = Message.objects.filter(pk=message.pk).values_list("status", flat=True).first()
            reason = f"The message is {current}, not blocked: there is nothing to release."
            raise MessageNotBlocked(reason, fields={"status": [reason]})
        message.status = Message.Status.RECEIVED
        message.status_reason = ""
        message.status_detail = detail
        message.is_read = False
        message.updated_at = now
        thread = threads.lock_thread(message.thread_id)
        if thread.message_count == 0:
            # A thread the blocked message started: its first real summary is this message.
            thread.last_message_at = None
        message.thread = threads.add_to_thread(thread, message)
        if thread.status in triage.REOPENED_BY_INBOUND:
            # Released mail is new mail on the thread: a closed or snoozed one needs someone.
            triage.reopen_on_inbound(thread, actor=message.created_by)
        record_event(
            message.organization,
            event_type=EventType.MESSAGE_RELEASED,
            payload={**message_payload(message), "releasedBy": dict(actor)},
            inbox_id=message.inbox.public_id,
            message_id=message.public_id,
        )
        record_message_event(message, EventType.MESSAGE_RECEIVED)
    return message


def list_blocked(
    organization: Organization, *, inbox_ids: Collection[str] | None = None
) -> QuerySet[Message]:
    """Blocked mail waiting for a person, newest first (the staff UI's Blocked view)."""
    rows = Message.objects.filter(organization=organization, status=Message.Status.BLOCKED)
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=list(inbox_ids))
    return rows.select_related("inbox", "thread").defer("search_vector").order_by("-id")


def get_blocked(organization: Organization, message_id: str) -> Message:
    """One blocked message of the organization (the staff UI's Release button)."""
    message = list_blocked(organization).filter(public_id=message_id).first()
    if message is None:
        raise MessageNotFound()
    return message
