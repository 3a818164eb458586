"""Organization-scoped reads of the log. Another organization's id is indistinguishable from a
missing one, and so is, for a key limited to `inbox_ids`, an event about no inbox of those
(the organization's own events, such as domain.verified, included)."""

from collections.abc import Collection

from django.db.models import QuerySet

from sendook.events.exceptions import EventNotFound
from sendook.events.models import Event, EventType, Organization


def list_events(
    organization: Organization,
    *,
    after: str | None = None,
    inbox_ids: Collection[str] | None = None,
) -> QuerySet[Event]:
    """The numbered feed in commit order (feed_seq): every event but the test pings, which only
    concern the webhook they tested. services.read_feed numbers new events first."""
    rows = Event.objects.filter(organization=organization, feed_seq__isnull=False).exclude(
        type=EventType.WEBHOOK_TEST
    )
    if inbox_ids is not None:
        rows = rows.filter(inbox_public_id__in=inbox_ids)
    if after:
        seq = get_event(organization, after, inbox_ids=inbox_ids).feed_seq
        if seq is not None:  # not numbered yet: it committed after the numbering
            rows = rows.filter(feed_seq__gt=seq)
        else:
            rows = rows.none()
    return rows.select_related("organization")


def get_event(
    organization: Organization, event_id: str, *, inbox_ids: Collection[str] | None = None
) -> Event:
    rows = Event.objects.select_related("organization")
    if inbox_ids is not None:
        rows = rows.filter(inbox_public_id__in=inbox_ids)
    try:
        return rows.get(organization=organization, public_id=event_id)
    except Event.DoesNotExist:
        raise EventNotFound() from None
