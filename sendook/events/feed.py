"""The feed's order and shape: numbering committed events (`sequence_events`) and the envelope
every consumer receives (`build_envelope`): GET /v1/events, webhooks and the live stream."""

from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from sendook.api import format_timestamp
from sendook.events.models import Event, Organization

# Any constant: with the organization's id, the advisory lock that makes feed numbering one
# writer at a time per organization.
_FEED_LOCK = 0x5E9D0 + 1


def sequence_events(organization: Organization, *, batch: int = 5000) -> int:
    """Numbers the organization's committed events that have no feed number yet; returns how many.

    Event ids come from a sequence when the row is inserted, but transactions commit in another
    order: a consumer paging the feed by id could read event 11 while event 10 was still
    uncommitted, then ask for "after 11" and never see 10. Feed numbers are handed out here
    instead, one numbering transaction at a time per organization (an advisory lock on
    PostgreSQL; SQLite has one writer anyway), and each only sees rows committed before it
    started, so an event that commits late gets a later number than everything already
    numbered. The feed calls this before every read, so numbering costs nothing when nobody
    reads, and a read touches only its own organization's rows.
    """
    numbered = 0
    # Most reads find nothing to number (the stream hubs read at every wake): no lock then.
    if not Event.objects.filter(organization=organization, feed_seq__isnull=True).exists():
        return numbered
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)",
                        [_FEED_LOCK, organization.pk % 2**31],
                    )
            elif connection.vendor == "sqlite":
                # Write first: a transaction that reads and then writes cannot wait for another
                # writer (SQLite answers "database is locked" at once); one that starts by
                # writing waits for it (the busy timeout), like the advisory lock above.
                Event.objects.filter(pk=-1).update(feed_seq=None)
            mine = Event.objects.filter(organization=organization)
            pending = list(
                mine.filter(feed_seq__isnull=True)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not pending:
                return numbered
            top = mine.aggregate(top=Max("feed_seq"))["top"] or 0
            Event.objects.bulk_update(
                [Event(pk=pk, feed_seq=top + n) for n, pk in enumerate(pending, start=1)],
                ["feed_seq"],
            )
        numbered += len(pending)
        if len(pending) < batch:
            return numbered


def build_envelope(event: Event) -> dict[str, Any]:
    """What a webhook receives and what GET /v1/events lists (docs/api.md, "What arrives")."""
    envelope: dict[str, Any] = {
        "id": event.public_id,
        "event": event.type,
        "createdAt": format_timestamp(event.created_at),
        "organizationId": event.organization.public_id,
    }
    if event.inbox_public_id:
        envelope["inboxId"] = event.inbox_public_id
    if event.message_public_id:
        envelope["messageId"] = event.message_public_id
    envelope["payload"] = event.payload
    return envelope
