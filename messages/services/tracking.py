"""Provider delivery events: what happened to a message after the provider took it (delivered,
bounced, complained, rejected). They arrive two ways, Anymail's tracking webhooks and SES
sending events on the inbound SNS topic (`/webhooks/ses`); both end in `apply_delivery_event`,
so status rules and the suppression list live in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from messages.models import Message, Suppression
from messages.payloads import message_payload
from sendook.events.models import EventType
from sendook.events.services import record_event

logger = logging.getLogger(__name__)

STATUS_BY_EVENT = {
    "delivered": Message.Status.DELIVERED,
    "bounced": Message.Status.BOUNCED,
    "complained": Message.Status.COMPLAINED,
    "rejected": Message.Status.REJECTED,
    "failed": Message.Status.FAILED,
}
EVENT_BY_STATUS = {
    Message.Status.DELIVERED: EventType.MESSAGE_DELIVERED,
    Message.Status.BOUNCED: EventType.MESSAGE_BOUNCED,
    Message.Status.COMPLAINED: EventType.MESSAGE_COMPLAINED,
    Message.Status.REJECTED: EventType.MESSAGE_REJECTED,
    Message.Status.FAILED: EventType.MESSAGE_FAILED,
}
# With several recipients, the worst outcome is the message's status ("delivered" to one
# recipient does not hide a bounce from another).
RANK: dict[str, int] = {
    Message.Status.QUEUED: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.REJECTED: 3,
    Message.Status.FAILED: 3,
    Message.Status.BOUNCED: 4,
    Message.Status.COMPLAINED: 5,
}


@dataclass
class SesEvent:
    """A sending event (event publishing or the classic identity notifications)."""

    notification_id: str
    event_type: str  # "Delivery", "Bounce", "Complaint", "Reject", "Send", "DeliveryDelay", ...
    ses_message_id: str  # mail.messageId; empty for SES_SETUP_EVENT_TYPES
    detail: dict[str, Any]  # the event's own object, e.g. the "bounce" object for a Bounce


# How many applied provider event ids a message remembers for deduplication.
_SEEN_EVENTS = 200


def apply_delivery_event(
    *,
    provider_message_id: str,
    event_type: str,
    recipient: str = "",
    description: str = "",
    mta_response: str = "",
    esp_event: dict[str, Any] | None = None,
    event_id: str = "",
) -> Message | None:
    """Apply one provider event for one recipient. With an `event_id` (the provider's id of the
    event, made unique per recipient by the caller) a redelivery of an event already applied
    changes nothing and records no second event."""
    status = STATUS_BY_EVENT.get(event_type)
    if status is None or not provider_message_id:
        return None
    esp_event = esp_event or {}
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(external_message_id=provider_message_id, direction=Message.Direction.OUTBOUND)
            .first()
        )
        if message is None:
            logger.info("delivery event %s for unknown message %s", event_type, provider_message_id)
            return None
        seen = message.status_detail.get("provider_events", [])
        if event_id and event_id in seen:
            return message  # a provider redelivery: applied already
        if event_id:
            # Bounded: a message has few status events per recipient (at most 50 recipients).
            message.status_detail = {
                **message.status_detail,
                "provider_events": [*seen, event_id][-_SEEN_EVENTS:],
            }
        bounce = esp_event.get("bounce") or {}
        detail = {
            key: value
            for key, value in {
                "event": event_type,
                "recipient": recipient,
                "description": description,
                "diagnostic": mta_response,
                "bounceType": bounce.get("bounceType"),
                "bounceSubType": bounce.get("bounceSubType"),
                "complaintFeedbackType": (esp_event.get("complaint") or {}).get(
                    "complaintFeedbackType"
                ),
            }.items()
            if value
        }
        recipients = dict(message.status_detail.get("recipients", {}))
        recipients[recipient or "*"] = detail
        message.status_detail = {**message.status_detail, "recipients": recipients, "last": detail}
        changed = RANK.get(status, 0) >= RANK.get(message.status, 0) and status != message.status
        if changed:
            message.status = status
            message.status_reason = (description or mta_response or "")[:1000]
        message.save(update_fields=["status", "status_reason", "status_detail", "updated_at"])
        hard_bounce = status == Message.Status.BOUNCED and bounce.get("bounceType") == "Permanent"
        if recipient and (hard_bounce or status == Message.Status.COMPLAINED):
            Suppression.objects.get_or_create(
                organization_id=message.organization_id,
                email=recipient.lower(),
                defaults={
                    "reason": Suppression.Reason.COMPLAINT
                    if status == Message.Status.COMPLAINED
                    else Suppression.Reason.BOUNCE,
                    "detail": (mta_response or description)[:1000],
                },
            )
        record_event(
            message.organization,
            event_type=EVENT_BY_STATUS[status],
            payload={**message_payload(message), "recipient": recipient, "detail": detail},
            inbox_id=message.inbox.public_id,
            message_id=message.public_id,
        )
    return message


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
            message = (
                apply_delivery_event(
                    provider_message_id=event.ses_message_id,
                    event_type=event_name,
                    recipient=recipient,
                    description=str(event.detail.get("reason") or ""),
                    mta_response=diagnostic,
                    esp_event={event.event_type.lower(): event.detail},
                )
                or message
            )
    return message


def _recipients(detail: dict, list_key: str) -> list[tuple[str, str]]:
    entries = detail.get(list_key) if list_key else None
    if not entries:
        return [("", str(detail.get("smtpResponse") or ""))]
    found = []
    for entry in entries:
        if isinstance(entry, dict):
            found.append(
                (str(entry.get("emailAddress") or ""), str(entry.get("diagnosticCode") or ""))
            )
        else:  # Delivery lists plain addresses
            found.append((str(entry), str(detail.get("smtpResponse") or "")))
    return found
