"""Anymail signal receivers: thin adapters onto messages.services.tracking."""

import hashlib
import json
from typing import Any

from anymail.signals import tracking
from django.dispatch import receiver

from messages.services.tracking import apply_delivery_event


@receiver(tracking, dispatch_uid="sendook-delivery-events")
def handle_tracking_event(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    apply_delivery_event(
        event_id=delivery_event_id(event, esp_name),
        provider_message_id=event.message_id or "",
        event_type=event.event_type or "",
        recipient=event.recipient or "",
        description=event.description or "",
        mta_response=event.mta_response or "",
        esp_event=event.esp_event if isinstance(event.esp_event, dict) else {},
    )


def delivery_event_id(event: Any, esp_name: str) -> str:
    """One id per (provider event, recipient), so a redelivery is recognised.

    Providers that batch recipients give each the same event id, hence the recipient in it; an
    event without an id (Postmark's deliveries) is known by a digest of the provider's payload,
    which a redelivery repeats exactly.
    """
    recipient = (event.recipient or "").lower()
    if event.event_id:
        return f"{esp_name.lower()}:{event.event_id}:{recipient}"
    if not isinstance(event.esp_event, dict | list):
        return ""  # nothing stable to recognise it by
    payload = json.dumps(event.esp_event, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:32]
    return f"{esp_name.lower()}:sha256:{digest}:{recipient}"
