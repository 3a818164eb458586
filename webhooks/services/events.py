"""Writing events. Callers run inside the transaction of the change the event reports (outbox):
the event row and one delivery row per subscribed webhook commit together with the change, and
the deliveries are handed to workers only after that commit."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inboxes.models import Organization
from sendook.api import format_timestamp
from webhooks.models import Delivery, Event, EventType, Webhook


def record_event(
    organization: Organization,
    *,
    event_type: EventType,
    payload: dict[str, Any],
    inbox_id: str = "",
    message_id: str = "",
) -> Event:
    event = Event.objects.create(
        organization=organization,
        type=event_type,
        payload=payload,
        inbox_public_id=inbox_id,
        message_public_id=message_id,
    )
    webhooks = Webhook.objects.filter(organization=organization, enabled=True)
    fan_out(event, [webhook for webhook in webhooks if webhook.wants(event)])
    return event


def fan_out(event: Event, webhooks: list[Webhook]) -> list[Delivery]:
    """One delivery row per webhook, queued for workers once the caller's transaction commits."""
    if not webhooks:
        return []
    # The queued task is the first attempt; if it is lost (broker restart, killed worker) the
    # sweep finds the row once this claim has lapsed.
    claim = timezone.now() + timedelta(seconds=settings.SENDOOK_WEBHOOK_CLAIM_SECONDS)
    deliveries = [
        Delivery.objects.create(event=event, webhook=webhook, next_attempt_at=claim)
        for webhook in webhooks
    ]
    from webhooks.services.delivery import enqueue_deliveries

    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries([(pk, 0) for pk in ids]))
    return deliveries


def build_envelope(event: Event) -> dict[str, Any]:
    """What a webhook receives and what GET /v1/events lists (API.md "Webhook deliveries")."""
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
