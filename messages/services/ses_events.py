"""SES sending events (Delivery, Bounce, Complaint, Reject) that arrive on the inbound SNS
topic rather than through Anymail's tracking webhook. Both paths end in
`tracking.apply_delivery_event`, so status rules and the suppression list live in one place.
"""

from __future__ import annotations

from django.db import transaction

from messages.inbound.ses.sns import SesEvent
from messages.models import Message
from messages.services.tracking import apply_delivery_event

# SES event type → (Anymail-style event name, key of the per-recipient list in the detail).
_EVENTS = {
    "Delivery": ("delivered", "recipients"),
    "Bounce": ("bounced", "bouncedRecipients"),
    "Complaint": ("complained", "complainedRecipients"),
    "Reject": ("rejected", ""),
}


def handle_ses_event(event: SesEvent) -> Message | None:
    """Record a delivery outcome on the outbound message SES knows as `ses_message_id`.

    Unknown messages and other event types (Send, Open, DeliveryDelay...) are ignored; an SNS
    redelivery of a notification already applied changes nothing.
    """
    known = _EVENTS.get(event.event_type)
    if known is None or not event.ses_message_id:
        return None
    event_name, list_key = known
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(external_message_id=event.ses_message_id, direction=Message.Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return None
        seen = message.status_detail.get("ses_notifications", [])
        if event.notification_id in seen:
            return message
        message.status_detail = {
            **message.status_detail,
            "ses_notifications": [*seen, event.notification_id][-20:],
        }
        message.save(update_fields=["status_detail", "updated_at"])
        for recipient, diagnostic in _recipients(event.detail, list_key):
            message = apply_delivery_event(
                provider_message_id=event.ses_message_id,
                event_type=event_name,
                recipient=recipient,
                description=str(event.detail.get("reason") or ""),
                mta_response=diagnostic,
                esp_event={event.event_type.lower(): event.detail},
            ) or message
    return message


def _recipients(detail: dict, list_key: str) -> list[tuple[str, str]]:
    entries = detail.get(list_key) if list_key else None
    if not entries:
        return [("", str(detail.get("smtpResponse") or ""))]
    found = []
    for entry in entries:
        if isinstance(entry, dict):
            found.append((str(entry.get("emailAddress") or ""), str(entry.get("diagnosticCode") or "")))
        else:  # Delivery lists plain addresses
            found.append((str(entry), str(detail.get("smtpResponse") or "")))
    return found
