"""Anymail signal receivers: thin adapters onto messages.services.tracking."""

from typing import Any

from anymail.signals import tracking
from django.dispatch import receiver

from messages.services.tracking import apply_delivery_event


@receiver(tracking, dispatch_uid="sendook-delivery-events")
def handle_tracking_event(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    apply_delivery_event(
        provider_message_id=event.message_id or "",
        event_type=event.event_type or "",
        recipient=event.recipient or "",
        description=event.description or "",
        mta_response=event.mta_response or "",
        esp_event=event.esp_event if isinstance(event.esp_event, dict) else {},
    )
