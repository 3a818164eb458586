"""SES payloads of verified SNS notifications: received mail and sending events."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from messages.inbound.ses.notifications import (
    SesInbound,
    SesNotificationError,
    parse_ses_notification,
)
from messages.services.tracking import SesEvent
from messages.tests.inbound.ses.sns_testing import TOPIC_ARN, build_notification

RAW_MIME = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: support@inbox.sendook.test\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour, caf\xc3\xa9 \xe2\x98\x95\r\n"
)


def receipt_payload(action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2025-01-02T03:04:05.678Z",
            "source": "alice@example.org",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
            "destination": ["support@inbox.sendook.test", "cc@elsewhere.test"],
            "headersTruncated": False,
            "headers": [{"name": "From", "value": "Alice <alice@example.org>"}],
            "commonHeaders": {"from": ["Alice <alice@example.org>"], "subject": "Café"},
        },
        "receipt": {
            "timestamp": "2025-01-02T03:04:05.678Z",
            "processingTimeMillis": 312,
            "recipients": ["support@inbox.sendook.test"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "FAIL"},
            "dkimVerdict": {"status": "GRAY"},
            "dmarcVerdict": {"status": "PROCESSING_FAILED"},
            "action": action,
        },
        **extra,
    }


def envelope(payload: dict[str, Any] | str) -> dict[str, Any]:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return build_notification(body, message_id="5f8c1a2e-0000-4000-8000-000000000001")


def test_an_sns_action_with_base64_content_yields_the_exact_raw_bytes() -> None:
    action = {"type": "SNS", "topicArn": TOPIC_ARN, "encoding": "BASE64"}
    payload = receipt_payload(action, content=base64.b64encode(RAW_MIME).decode())

    inbound = parse_ses_notification(envelope(payload))

    assert inbound == SesInbound(
        notification_id="5f8c1a2e-0000-4000-8000-000000000001",
        ses_message_id="o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
        recipients=["support@inbox.sendook.test"],
        content=RAW_MIME,
        s3_bucket=None,
        s3_key=None,
        verdicts={
            "spf": "fail",
            "dkim": "gray",
            "dmarc": "processing_failed",
            "spam": "pass",
            "virus": "pass",
        },
    )


def test_line_wrapped_base64_content_is_decoded() -> None:
    encoded = base64.encodebytes(RAW_MIME * 5).decode()  # wrapped at 76 characters
    assert "\n" in encoded
    action = {"type": "SNS", "topicArn": TOPIC_ARN, "encoding": "BASE64"}

    inbound = parse_ses_notification(envelope(receipt_payload(action, content=encoded)))

    assert isinstance(inbound, SesInbound)
    assert inbound.content == RAW_MIME * 5


@pytest.mark.parametrize("encoding", ["UTF8", "UTF-8", None])
def test_an_sns_action_with_utf8_content_yields_utf8_bytes(encoding: str | None) -> None:
    action = {"type": "SNS", "topicArn": TOPIC_ARN}
    if encoding is not None:
        action["encoding"] = encoding
    payload = receipt_payload(action, content=RAW_MIME.decode("utf-8"))

    inbound = parse_ses_notification(envelope(payload))

    assert isinstance(inbound, SesInbound)
    assert inbound.content == RAW_MIME
    assert "☕" in inbound.content.decode("utf-8")


def test_an_s3_action_points_at_the_stored_object() -> None:
    action = {
        "type": "S3",
        "topicArn": TOPIC_ARN,
        "bucketName": "sendook-inbound",
        "objectKeyPrefix": "mail/",
        "objectKey": "mail/o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
    }

    inbound = parse_ses_notification(envelope(receipt_payload(action)))

    assert isinstance(inbound, SesInbound)
    assert inbound.content is None
    assert (inbound.s3_bucket, inbound.s3_key) == (
        "sendook-inbound",
        "mail/o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
    )
    assert inbound.recipients == ["support@inbox.sendook.test"]


def test_missing_verdicts_are_left_out_rather_than_guessed() -> None:
    payload = receipt_payload({"type": "S3", "bucketName": "b", "objectKey": "k"})
    for name in ("spamVerdict", "virusVerdict", "dmarcVerdict"):
        del payload["receipt"][name]

    inbound = parse_ses_notification(envelope(payload))

    assert isinstance(inbound, SesInbound)
    assert inbound.verdicts == {"spf": "fail", "dkim": "gray"}


SENT_MAIL: dict[str, Any] = {
    "timestamp": "2025-01-02T03:04:05.000Z",
    "source": "support@inbox.sendook.test",
    "sendingAccountId": "123456789012",
    "messageId": "0100019421b0ffee-12345678-aaaa-bbbb-cccc-1234567890ab-000000",
    "destination": ["bob@example.net"],
}


def test_a_published_bounce_event_is_an_event_with_the_bounce_detail() -> None:
    bounce = {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {"emailAddress": "bob@example.net", "action": "failed", "status": "5.1.1"}
        ],
        "timestamp": "2025-01-02T03:04:06.000Z",
        "feedbackId": "feedback-1",
    }
    payload = {"eventType": "Bounce", "bounce": bounce, "mail": SENT_MAIL}

    event = parse_ses_notification(envelope(payload))

    assert event == SesEvent(
        notification_id="5f8c1a2e-0000-4000-8000-000000000001",
        event_type="Bounce",
        ses_message_id=SENT_MAIL["messageId"],
        detail=bounce,
    )


def test_a_classic_delivery_notification_is_an_event() -> None:
    delivery = {
        "timestamp": "2025-01-02T03:04:07.000Z",
        "processingTimeMillis": 546,
        "recipients": ["bob@example.net"],
        "smtpResponse": "250 ok: Message 64111812 accepted",
        "remoteMtaIp": "203.0.113.25",
        "reportingMTA": "a8-70.smtp-out.amazonses.com",
    }
    payload = {"notificationType": "Delivery", "delivery": delivery, "mail": SENT_MAIL}

    event = parse_ses_notification(envelope(payload))

    assert isinstance(event, SesEvent)
    assert (event.event_type, event.ses_message_id) == ("Delivery", SENT_MAIL["messageId"])
    assert event.detail["recipients"] == ["bob@example.net"]


def test_a_complaint_event_is_an_event_with_the_complaint_detail() -> None:
    complaint = {
        "complainedRecipients": [{"emailAddress": "bob@example.net"}],
        "timestamp": "2025-01-02T05:00:00.000Z",
        "feedbackId": "feedback-2",
        "complaintFeedbackType": "abuse",
    }
    payload = {"eventType": "Complaint", "complaint": complaint, "mail": SENT_MAIL}

    event = parse_ses_notification(envelope(payload))

    assert isinstance(event, SesEvent)
    assert event.event_type == "Complaint"
    assert event.detail["complaintFeedbackType"] == "abuse"


@pytest.mark.parametrize(
    ("event_type", "detail_key", "detail"),
    [
        ("Send", "send", {}),
        ("Reject", "reject", {"reason": "Bad content"}),
        ("DeliveryDelay", "deliveryDelay", {"delayType": "MailboxFull"}),
        ("Rendering Failure", "failure", {"errorMessage": "Attribute 'name' missing"}),
    ],
)
def test_other_published_events_carry_their_own_detail(
    event_type: str, detail_key: str, detail: dict[str, Any]
) -> None:
    payload = {"eventType": event_type, detail_key: detail, "mail": SENT_MAIL}

    event = parse_ses_notification(envelope(payload))

    assert isinstance(event, SesEvent)
    assert (event.event_type, event.detail) == (event_type, detail)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}),
        "Successfully validated SNS topic for Amazon SES event publishing.",
    ],
)
def test_ses_setup_messages_are_recognisable_events(body: str) -> None:
    from messages.inbound.ses.notifications import SES_SETUP_EVENT_TYPES

    event = parse_ses_notification(envelope(body))

    assert isinstance(event, SesEvent)
    assert event.event_type in SES_SETUP_EVENT_TYPES


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "malformed_json"),
        ("", "malformed_json"),
        ('"just a string"', "malformed_json"),
        ("[1, 2]", "malformed_json"),
        (json.dumps({"mail": SENT_MAIL}), "unknown_notification"),
        (json.dumps({"eventType": "Bounce", "bounce": {}}), "missing_field"),
        (json.dumps({"eventType": "Bounce", "bounce": "x", "mail": SENT_MAIL}), "malformed_event"),
        (json.dumps(receipt_payload({"type": "SNS", "encoding": "BASE64"})), "missing_field"),
        (
            json.dumps(receipt_payload({"type": "SNS", "encoding": "BASE64"}, content="%%%")),
            "bad_content",
        ),
        (
            json.dumps(receipt_payload({"type": "SNS", "encoding": "UTF16"}, content="x")),
            "unsupported_encoding",
        ),
        (json.dumps(receipt_payload({"type": "S3", "bucketName": "b"})), "missing_field"),
        (json.dumps(receipt_payload({"type": "Lambda"})), "unsupported_action"),
        (json.dumps({"notificationType": "Received", "mail": SENT_MAIL}), "missing_field"),
    ],
)
def test_malformed_ses_payloads_raise_with_a_reason(body: str, reason: str) -> None:
    with pytest.raises(SesNotificationError) as caught:
        parse_ses_notification(envelope(body))

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_utf8_content_with_a_lone_surrogate_is_malformed() -> None:
    body = json.dumps(receipt_payload({"type": "SNS", "encoding": "UTF8"}, content="a\ud800b"))

    with pytest.raises(SesNotificationError) as caught:
        parse_ses_notification(envelope(body))

    assert caught.value.reason == "bad_content"
