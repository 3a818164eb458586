"""Interpret the SES payload of an already verified SNS notification: mail SES received (a
receipt rule's SNS or S3 action) or a sending event (Delivery, Bounce, Complaint, ...).

Deliberately free of Django, like sns.py, which checks the envelope before anything here reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from messages.services.tracking import SesEvent

__all__ = [
    "SES_SETUP_EVENT_TYPES",
    "SesInbound",
    "SesNotificationError",
    "parse_ses_notification",
]


class SesNotificationError(ValueError):
    """A verified SNS message whose SES payload we cannot interpret."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


# Benign SES set-up messages that carry no mail; callers acknowledge and otherwise ignore them.
# "AmazonSnsSubscriptionSucceeded" is SES's own name; "EventPublishingValidation" is ours for
# the plain-text (non-JSON) message SES publishes when an event destination is created.
SES_SETUP_EVENT_TYPES = frozenset({"AmazonSnsSubscriptionSucceeded", "EventPublishingValidation"})
_EVENT_PUBLISHING_VALIDATION_TEXT = (
    "Successfully validated SNS topic for Amazon SES event publishing."
)

# Event payloads keep their details under the camel-cased event type, except this one.
_DETAIL_KEYS = {"Rendering Failure": "failure"}

_VERDICTS = ("spf", "dkim", "dmarc", "spam", "virus")


@dataclass
class SesInbound:
    """An email SES received, from a receipt rule's SNS or S3 action."""

    notification_id: str  # the SNS MessageId, unique per delivery: our idempotency key
    ses_message_id: str
    recipients: list[str]
    content: bytes | None  # raw MIME, present for the SNS action only
    s3_bucket: str | None  # where the S3 action stored the raw MIME
    s3_key: str | None
    verdicts: dict[str, str] = field(default_factory=dict)  # e.g. {"spf": "pass"}


def parse_ses_notification(message: Mapping[str, Any]) -> SesInbound | SesEvent:
    """Interpret the SES payload of an already verified SNS Notification envelope."""
    notification_id = message.get("MessageId")
    body = message.get("Message")
    if not isinstance(notification_id, str) or not isinstance(body, str):
        raise SesNotificationError("missing_field", "envelope lacks MessageId or Message")

    if body.strip() == _EVENT_PUBLISHING_VALIDATION_TEXT:
        return SesEvent(notification_id, "EventPublishingValidation", "", {"message": body})
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError on lone surrogates
        raise SesNotificationError("malformed_json", "Message is not JSON") from exc
    if not isinstance(payload, dict):
        raise SesNotificationError("malformed_json", "Message is not a JSON object")

    if payload.get("notificationType") == "Received":
        return _parse_inbound(notification_id, payload)

    # Event publishing says eventType; classic identity notifications say notificationType.
    event_type = payload.get("eventType") or payload.get("notificationType")
    if not isinstance(event_type, str) or not event_type:
        raise SesNotificationError("unknown_notification", "no eventType or notificationType")
    if event_type in SES_SETUP_EVENT_TYPES:
        return SesEvent(notification_id, event_type, "", payload)

    detail_key = _DETAIL_KEYS.get(event_type, event_type[:1].lower() + event_type[1:])
    detail = payload.get(detail_key, {})
    if not isinstance(detail, dict):
        raise SesNotificationError("malformed_event", f"{detail_key} is not an object")
    return SesEvent(
        notification_id=notification_id,
        event_type=event_type,
        ses_message_id=_mail_message_id(payload),
        detail=detail,
    )


def _parse_inbound(notification_id: str, payload: dict[str, Any]) -> SesInbound:
    receipt = _object(payload, "receipt")
    action = _object(receipt, "action")
    recipients = receipt.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise SesNotificationError("missing_field", "receipt.recipients is not a list of strings")

    verdicts: dict[str, str] = {}
    for name in _VERDICTS:
        verdict = receipt.get(f"{name}Verdict")
        if isinstance(verdict, dict) and isinstance(verdict.get("status"), str):
            verdicts[name] = verdict["status"].lower()

    inbound = SesInbound(
        notification_id=notification_id,
        ses_message_id=_mail_message_id(payload),
        recipients=list(recipients),
        content=None,
        s3_bucket=None,
        s3_key=None,
        verdicts=verdicts,
    )
    action_type = action.get("type")
    if action_type == "SNS":
        inbound.content = _decode_content(payload.get("content"), action.get("encoding"))
    elif action_type == "S3":
        bucket, key = action.get("bucketName"), action.get("objectKey")
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            raise SesNotificationError("missing_field", "S3 action lacks bucketName/objectKey")
        inbound.s3_bucket, inbound.s3_key = bucket, key
    else:
        # Other actions (Lambda, Bounce, WorkMail...) only send an alert without the mail, so
        # there is nothing to store; say so rather than return an inbound with no content.
        raise SesNotificationError("unsupported_action", f"receipt action {action_type!r}")
    return inbound


def _decode_content(content: object, encoding: object) -> bytes:
    if not isinstance(content, str):
        raise SesNotificationError("missing_field", "SNS action notification has no content")
    # The SNS action defaults to UTF-8 when no encoding was configured.
    normalized = encoding.upper().replace("-", "") if isinstance(encoding, str) else "UTF8"
    if normalized == "BASE64":
        try:
            # Strict about the alphabet, but tolerant of line-wrapped (MIME-style) base64.
            return base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SesNotificationError("bad_content", "content is not valid base64") from exc
    if normalized == "UTF8":
        try:
            return content.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates smuggled in via JSON escapes
            raise SesNotificationError("bad_content", "content is not valid UTF-8") from exc
    raise SesNotificationError("unsupported_encoding", f"content encoding {encoding!r}")


def _object(container: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = container.get(name)
    if not isinstance(value, dict):
        raise SesNotificationError("missing_field", f"{name} is missing or not an object")
    return value


def _mail_message_id(payload: Mapping[str, Any]) -> str:
    message_id = _object(payload, "mail").get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise SesNotificationError("missing_field", "mail.messageId is missing")
    return message_id
