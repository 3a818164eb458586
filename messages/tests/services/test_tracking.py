"""Delivery events: SES's through the signed /webhooks/ses, other providers' through Anymail.

SES events used to come through Anymail's amazon_ses tracking view, which checked only a basic-auth
secret (no SNS signature, no topic): it is no longer mounted, and these tests post the same
events, SNS-signed, to /webhooks/ses.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from messages.models import Message, Suppression
from messages.tests.factories import ThreadFactory
from messages.tests.inbound.ses.sns_testing import (
    TOPIC_ARN,
    CertificateServer,
    SnsTestPki,
    build_notification,
    create_test_pki,
    serve_certificate,
    sign_sns_message,
)
from sendook.events.models import Event

pytestmark = pytest.mark.django_db
WEBHOOK = "/webhooks/ses"
POSTMARK = "/webhooks/anymail/postmark/tracking/"
AUTH = "hook:s3cret"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SnsTestPki:
    return create_test_pki(tmp_path_factory.mktemp("sns-pki"))


@pytest.fixture(autouse=True)
def sns(pki: SnsTestPki, settings: Any) -> Iterator[CertificateServer]:
    with serve_certificate(pki) as server:
        settings.SENDOOK_SES_TOPIC_ARNS = [TOPIC_ARN]
        settings.SENDOOK_SNS_CERT_CONNECT_TO = server.connect_to
        settings.SENDOOK_SNS_CA_BUNDLE = server.ca_bundle
        yield server


@pytest.fixture
def sent(inbox):
    thread = ThreadFactory(inbox=inbox)
    return Message.objects.create(
        organization=inbox.organization,
        inbox=inbox,
        thread=thread,
        direction="outbound",
        status="sent",
        from_email=inbox.email,
        to=["rcpt@example.com", "other@example.com"],
        subject="s",
        text="t",
        message_id="<m@x>",
        external_message_id="0100018c-ses-id",
    )


def basic(secret):
    return "Basic " + base64.b64encode(secret.encode()).decode()


def post_ses_event(client, pki, ses_event, *, signed=True):
    envelope = build_notification(json.dumps(ses_event))
    if signed:
        envelope = sign_sns_message(envelope, key=pki.leaf_key)
    return client.post(WEBHOOK, json.dumps(envelope), content_type="text/plain; charset=UTF-8")


def mail(recipients):
    return {
        "timestamp": "2026-11-21T09:59:59.000Z",
        "messageId": "0100018c-ses-id",
        "source": "support@sendook.localhost",
        "destination": recipients,
        "headers": [],
    }


def test_a_hard_bounce_marks_the_message_and_suppresses_the_address(client, pki, sent):
    response = post_ses_event(
        client,
        pki,
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": "Rcpt@example.com",
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-11-21T10:00:00.000Z",
                "feedbackId": "f1",
            },
            "mail": mail(["Rcpt@example.com"]),
        },
    )
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == "bounced"
    detail = sent.status_detail["last"]
    assert detail["bounceType"] == "Permanent" and "550 5.1.1" in detail["diagnostic"]
    assert Suppression.objects.get(organization=sent.organization).email == "rcpt@example.com"
    assert (
        Event.objects.filter(type="message.bounced", message_public_id=sent.public_id).count() == 1
    )


def test_a_soft_bounce_does_not_suppress(client, pki, sent):
    post_ses_event(
        client,
        pki,
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": "rcpt@example.com"}],
                "timestamp": "2026-11-21T10:00:00.000Z",
                "feedbackId": "f",
            },
            "mail": mail(["rcpt@example.com"]),
        },
    )
    sent.refresh_from_db()
    assert sent.status == "bounced" and not Suppression.objects.exists()


def test_delivery_then_complaint(client, pki, sent):
    post_ses_event(
        client,
        pki,
        {
            "eventType": "Delivery",
            "delivery": {
                "recipients": ["rcpt@example.com"],
                "smtpResponse": "250 ok",
                "timestamp": "2026-11-21T10:00:00.000Z",
            },
            "mail": mail(["rcpt@example.com"]),
        },
    )
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert Event.objects.filter(type="message.delivered").count() == 1
    post_ses_event(
        client,
        pki,
        {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": "other@example.com"}],
                "complaintFeedbackType": "abuse",
                "timestamp": "2026-11-21T10:00:00.000Z",
                "feedbackId": "c",
            },
            "mail": mail(["other@example.com"]),
        },
    )
    sent.refresh_from_db()
    assert sent.status == "complained"
    assert Suppression.objects.get().reason == "complaint"
    assert Event.objects.filter(type="message.complained").count() == 1


def test_a_rejection_is_recorded(client, pki, sent):
    post_ses_event(
        client,
        pki,
        {
            "eventType": "Reject",
            "reject": {"reason": "Bad content"},
            "mail": mail(["rcpt@example.com"]),
        },
    )
    sent.refresh_from_db()
    assert sent.status == "rejected" and sent.status_reason == "Bad content"


def test_an_unsigned_event_changes_nothing(client, pki, sent):
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "rcpt@example.com"}]},
        "mail": mail(["rcpt@example.com"]),
    }
    response = post_ses_event(client, pki, complaint, signed=False)
    assert response.status_code == 400 and response.json()["code"] == "missing_field"
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    "path", ["/webhooks/anymail/amazon_ses/tracking/", "/webhooks/anymail/amazon_ses/inbound/"]
)
def test_anymails_ses_views_are_not_mounted_even_with_a_secret(client, pki, sent, settings, path):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "rcpt@example.com"}]},
        "mail": mail(["rcpt@example.com"]),
    }
    envelope = build_notification(json.dumps(complaint))
    response = client.post(
        path,
        json.dumps(envelope),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_AUTHORIZATION=basic(AUTH),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    sent.refresh_from_db()
    assert sent.status == "sent" and not Suppression.objects.exists()


def test_an_event_for_an_unknown_message_is_ignored(client, pki, sent):
    event = {
        "eventType": "Delivery",
        "delivery": {"recipients": ["x@example.com"]},
        "mail": {**mail(["x@example.com"]), "messageId": "unknown"},
    }
    assert post_ses_event(client, pki, event).status_code == 200
    assert not Event.objects.exists()


# --- other providers through Anymail's tracking views -------------------------------------------


def postmark_bounce(**overrides):
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": "0100018c-ses-id",
        "Email": "rcpt@example.com",
        "BouncedAt": "2026-11-21T10:00:00Z",
        "Description": "The server was unable to deliver your message",
        "Details": "550 5.1.1",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "s",
        **overrides,
    }


def postmark_delivery():
    # Postmark's delivery events carry no event id.
    return {
        "RecordType": "Delivery",
        "MessageID": "0100018c-ses-id",
        "Recipient": "other@example.com",
        "DeliveredAt": "2026-11-21T10:00:00Z",
        "Details": "250 ok",
        "ServerID": 23,
        "Tag": "",
    }


def post_postmark(client, payload, secret=AUTH):
    extra = {"HTTP_AUTHORIZATION": basic(secret)} if secret else {}
    return client.post(POSTMARK, json.dumps(payload), content_type="application/json", **extra)


def test_a_forged_postmark_complaint_is_404_while_postmark_tracking_is_not_enabled(client, sent):
    response = post_postmark(
        client, postmark_bounce(RecordType="SpamComplaint", Type="SpamComplaint"), secret=""
    )

    assert response.status_code == 404 and response.json()["code"] == "not_found"
    sent.refresh_from_db()
    assert sent.status == "sent" and not Suppression.objects.exists()


def test_postmark_tracking_enabled_without_a_secret_refuses_every_event(
    client, sent, enable_providers, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}
    enable_providers(tracking=["postmark"])

    response = post_postmark(client, postmark_bounce(), secret="")

    assert response.status_code == 403 and response.json()["code"] == "webhook_not_configured"
    sent.refresh_from_db()
    assert sent.status == "sent" and not Event.objects.exists()


def test_a_postmark_event_without_the_secret_is_refused(client, sent, enable_providers, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(tracking=["postmark"])

    for secret in ("", "hook:wrong"):
        response = post_postmark(client, postmark_bounce(), secret=secret)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
        assert response["WWW-Authenticate"].startswith("Basic")
    sent.refresh_from_db()
    assert sent.status == "sent" and not Event.objects.exists()


def test_a_redelivered_postmark_event_changes_nothing_the_second_time(
    client, sent, enable_providers, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(tracking=["postmark"])

    for _ in range(3):  # Postmark retries until it sees a 200
        assert post_postmark(client, postmark_delivery()).status_code == 200
        assert post_postmark(client, postmark_bounce()).status_code == 200

    sent.refresh_from_db()
    assert sent.status == "bounced"
    assert Event.objects.filter(type="message.delivered").count() == 1
    assert Event.objects.filter(type="message.bounced").count() == 1
    # A different event for the same message still applies.
    post_postmark(client, postmark_bounce(ID=4323372036854775808, Email="other@example.com"))
    assert Event.objects.filter(type="message.bounced").count() == 2
