"""Writing events. Callers run inside the transaction of the change the event reports."""

from typing import Any

from inboxes.models import Organization
from webhooks.models import Event, EventType


def record_event(
    organization: Organization,
    *,
    event_type: EventType,
    payload: dict[str, Any],
    inbox_id: str = "",
    message_id: str = "",
) -> Event:
    return Event.objects.create(
        organization=organization,
        type=event_type,
        payload=payload,
        inbox_public_id=inbox_id,
        message_public_id=message_id,
    )
