"""What a stream asks for: ?events=, ?inboxId=, ?after= or Last-Event-ID, checked before the
stream starts so that every mistake is a 4xx JSON answer, never a stream that shows nothing.

- events: comma-separated event names; an unknown one is 400 naming it.
- inboxId: an inbox the key does not see (another organization's, outside a limited key's
  inboxes, or no inbox at all) is 404 "Inbox not found", as on every /v1 inbox route.
- after / Last-Event-ID (the header wins: EventSource, and every client that copies it,
  reconnects to the same URL, ?after= included, adding the last id it received as the header,
  so the header is always the newer position; with the query winning every reconnect would
  replay everything since ?after=): an id that is
  not an event id at all is 400; a well-formed id that is not one of this organization's
  events visible to the key is 404 "Event not found", as GET /v1/events?after= answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sendook.api.tenancy import get_inbox_model
from sendook.events import feed, selectors
from sendook.events.models import EventType
from sendook.exceptions import NotFound, ValidationFailed

# What the stream may carry: every event type but the webhook test pings (never in the feed).
STREAM_EVENT_TYPES = frozenset(t.value for t in EventType) - {EventType.WEBHOOK_TEST.value}
EVENT_ID = re.compile(r"evt_[0-9A-HJKMNP-TV-Z]{26}\Z", re.IGNORECASE)
INBOX_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
MAX_QUERY_BYTES = 4096


class InboxNotFound(NotFound):
    code = "inbox_not_found"
    message = "Inbox not found"


@dataclass(frozen=True)
class StreamRequest:
    event_types: frozenset[str] | None  # None: every type
    inbox_id: str | None
    after: str | None  # an event id (evt_…), syntax checked
    after_source: str = "after"  # the input it came from, for error messages


def parse_stream_request(query_string: bytes, last_event_id: str | None) -> StreamRequest:
    """The query and the Last-Event-ID header, checked for form (no database)."""
    if len(query_string) > MAX_QUERY_BYTES:
        raise ValidationFailed("Query string too long", code="validation_error")
    try:
        query = parse_qs(query_string.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValidationFailed("Query string is not UTF-8", code="validation_error") from None
    event_types = _event_types(query.get("events", []))
    inbox_id = _single(query, "inboxId")
    if inbox_id is not None and not INBOX_ID.match(inbox_id):
        raise InboxNotFound()
    after, source = _single(query, "after"), "after"
    if last_event_id is not None and last_event_id.strip():
        after, source = last_event_id.strip(), "Last-Event-ID"
    if after is not None and not EVENT_ID.match(after):
        raise ValidationFailed.for_field(
            source, f"{source} must be an event id (evt_…), not {after[:60]!r}"
        )
    return StreamRequest(event_types, inbox_id, after, source)


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = [value.strip() for value in query.get(name, []) if value.strip()]
    if len(values) > 1:
        raise ValidationFailed.for_field(name, f"{name} may be given once")
    return values[0] if values else None


def _event_types(values: Iterable[str]) -> frozenset[str] | None:
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    if not names:
        return None
    unknown = sorted(names - STREAM_EVENT_TYPES)
    if unknown:
        raise ValidationFailed.for_field(
            "events", f"Unknown event name {unknown[0][:60]!r} in events", code="unknown_event"
        )
    return frozenset(names)


@dataclass(frozen=True)
class StreamFilter:
    """What a stream delivers: the resume point and which items (FeedItem.type / .inbox_id)."""

    after_seq: int | None  # None: from the events committed after the stream opened
    event_types: frozenset[str] | None
    inbox_ids: frozenset[str] | None  # None: every inbox and the organization's own events

    def wants(self, item: Any) -> bool:
        if self.event_types is not None and item.type not in self.event_types:
            return False
        return self.inbox_ids is None or item.inbox_id in self.inbox_ids


def resolve_stream_request(
    organization: Any, request: StreamRequest, *, inbox_ids: frozenset[str] | None
) -> StreamFilter:
    """The request against the database (sync): the inbox must be visible, the resume id one
    of the organization's events the key sees."""
    visible = inbox_ids
    if request.inbox_id is not None:
        if inbox_ids is not None and request.inbox_id not in inbox_ids:
            raise InboxNotFound()
        inboxes = get_inbox_model()._default_manager
        if not inboxes.filter(organization=organization, public_id=request.inbox_id).exists():
            raise InboxNotFound()
        visible = frozenset({request.inbox_id})
    after_seq = None
    if request.after is not None:
        feed.sequence_events(organization)  # an event that just committed has a number
        event = selectors.get_event(organization, request.after, inbox_ids=inbox_ids)
        after_seq = event.feed_seq or 0
    return StreamFilter(after_seq, request.event_types, visible)
