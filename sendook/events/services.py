"""Writing events. Callers run inside the transaction of the change the event reports (outbox):
the event row, and whatever its subscribers write (one webhook delivery row per subscribed
webhook), commit together with the change; subscribers hand work to workers only after that
commit."""

from collections.abc import Collection
from typing import Any

from django.db.models import QuerySet

from sendook.events import selectors, subscribers
from sendook.events.feed import build_envelope, sequence_events
from sendook.events.models import Event, EventType, Organization
from sendook.events.stream.fanout import announce_on_commit

# Numbering and envelopes live in feed.py, which the stream hub reads without importing this
# module (that imports the hub's fan-out): callers keep importing them from here.
__all__ = ["build_envelope", "read_feed", "record_event", "sequence_events"]


def record_event(
    organization: Organization,
    *,
    event_type: EventType,
    payload: dict[str, Any],
    inbox_id: str = "",
    message_id: str = "",
    notify: bool = True,
) -> Event:
    """`notify=False` when the caller already knows nobody listens to the organization (it
    asked `subscribers.anyone_listening` in a query it made anyway)."""
    event = Event.objects.create(
        organization=organization,
        type=event_type,
        payload=payload,
        inbox_public_id=inbox_id,
        message_public_id=message_id,
    )
    if notify:
        subscribers.notify(event)
    # Whatever `notify` says: the live streams of every process hear of it after the commit.
    announce_on_commit(organization.pk)
    return event


def read_feed(
    organization: Organization,
    *,
    after: str | None = None,
    inbox_ids: Collection[str] | None = None,
) -> QuerySet[Event]:
    """GET /v1/events: number what committed since the last read, then list in that order
    (only the events of `inbox_ids`, for a key limited to those inboxes)."""
    sequence_events(organization)
    return selectors.list_events(organization, after=after, inbox_ids=inbox_ids)
