"""SES sending events (Delivery, Bounce, Complaint, Reject) arriving on the inbound SNS topic.

TODO(merge with send): the send branch tracks delivery status through Anymail's tracking
signal; fold this into its delivery-status service when both are on main.
"""

from __future__ import annotations

from django.db import transaction

from messages.inbound.sns import SesEvent
from messages.models import Message
from webhooks.models import EventType
from webhooks.services import record_event

_OUTCOMES: dict[str, tuple[str, EventType]] = {
    "Delivery": (Message.Status.DELIVERED, EventType.MESSAGE_DELIVERED),
    "Bounce": (Message.Status.BOUNCED, EventType.MESSAGE_BOUNCED),
    "Complaint": (Message.Status.COMPLAINED, EventType.MESSAGE_COMPLAINED),
    "Reject": (Message.Status.REJECTED, EventType.MESSAGE_REJECTED),
}


def handle_ses_event(event: SesEvent) -> Message | None:
    """Record a delivery outcome on the outbound message SES knows as `ses_message_id`.

    Unknown messages and other event types (Send, Open, DeliveryDelay...) are ignored.
    """
    outcome = _OUTCOMES.get(event.event_type)
    if outcome is None or not event.ses_message_id:
        return None
    status, event_type = outcome
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("organization", "inbox")
            .filter(external_message_id=event.ses_message_id, direction=Message.Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return None
        # SNS redelivers: the same notification must not record the event twice.
        seen = message.status_detail.get("ses_notifications", [])
        if event.notification_id in seen:
            return message
        # A complaint can follow a delivery; nothing overrides a bounce or a complaint.
        if message.status not in (Message.Status.BOUNCED, Message.Status.COMPLAINED):
            message.status = status
        message.status_detail = {
            **message.status_detail,
            event.event_type.lower(): event.detail,
            "ses_notifications": [*seen, event.notification_id][-20:],
        }
        message.save(update_fields=["status", "status_detail", "updated_at"])
        record_event(
            message.organization,
            event_type=event_type,
            payload={
                "messageId": message.public_id,
                "type": event.event_type,
                "detail": event.detail,
            },
            inbox_id=message.inbox.public_id,
            message_id=message.public_id,
        )
    return message
