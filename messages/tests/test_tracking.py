"""Delivery events through Anymail's real Amazon SES tracking webhook view."""

import base64
import itertools
import json

import pytest

from messages.models import Message, Suppression
from messages.tests.factories import ThreadFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db
_ids = itertools.count()
WEBHOOK = "/webhooks/anymail/amazon_ses/tracking/"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "sns:s3cret"}


@pytest.fixture
def sent(inbox):
    thread = ThreadFactory(inbox=inbox)
    return Message.objects.create(
        organization=inbox.organization, inbox=inbox, thread=thread, direction="outbound",
        status="sent", from_email=inbox.email, to=["rcpt@example.com", "other@example.com"],
        subject="s", text="t", message_id="<m@x>", external_message_id="0100018c-ses-id",
    )


def post_ses_event(client, ses_event, secret="sns:s3cret"):
    sns_id = f"sns-{next(_ids)}"
    body = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-11-21T10:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    return client.post(
        WEBHOOK, json.dumps(body), content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID=sns_id,
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(secret.encode()).decode(),
    )


def mail(recipients):
    return {
        "timestamp": "2026-11-21T09:59:59.000Z", "messageId": "0100018c-ses-id",
        "source": "support@sendook.localhost", "destination": recipients, "headers": [],
    }


def test_a_hard_bounce_marks_the_message_and_suppresses_the_address(client, sent):
    response = post_ses_event(client, {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "Rcpt@example.com", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-11-21T10:00:00.000Z", "feedbackId": "f1",
        },
        "mail": mail(["Rcpt@example.com"]),
    })
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == "bounced"
    detail = sent.status_detail["last"]
    assert detail["bounceType"] == "Permanent" and "550 5.1.1" in detail["diagnostic"]
    assert Suppression.objects.get(organization=sent.organization).email == "rcpt@example.com"
    assert Event.objects.filter(type="message.bounced", message_public_id=sent.public_id).count() == 1


def test_a_soft_bounce_does_not_suppress(client, sent):
    post_ses_event(client, {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull", "bouncedRecipients": [{"emailAddress": "rcpt@example.com"}], "timestamp": "2026-11-21T10:00:00.000Z", "feedbackId": "f"},
        "mail": mail(["rcpt@example.com"]),
    })
    sent.refresh_from_db()
    assert sent.status == "bounced" and not Suppression.objects.exists()


def test_delivery_then_complaint(client, sent):
    post_ses_event(client, {"eventType": "Delivery", "delivery": {"recipients": ["rcpt@example.com"], "smtpResponse": "250 ok", "timestamp": "2026-11-21T10:00:00.000Z"}, "mail": mail(["rcpt@example.com"])})
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert Event.objects.filter(type="message.delivered").count() == 1
    post_ses_event(client, {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "other@example.com"}], "complaintFeedbackType": "abuse", "timestamp": "2026-11-21T10:00:00.000Z", "feedbackId": "c"}, "mail": mail(["other@example.com"])})
    sent.refresh_from_db()
    assert sent.status == "complained"
    assert Suppression.objects.get().reason == "complaint"
    assert Event.objects.filter(type="message.complained").count() == 1


def test_a_rejection_is_recorded(client, sent):
    post_ses_event(client, {"eventType": "Reject", "reject": {"reason": "Bad content"}, "mail": mail(["rcpt@example.com"])})
    sent.refresh_from_db()
    assert sent.status == "rejected" and sent.status_reason == "Bad content"


def test_a_request_without_the_webhook_secret_changes_nothing(client, sent):
    response = post_ses_event(client, {"eventType": "Delivery", "delivery": {}, "mail": mail(["rcpt@example.com"])}, secret="sns:wrong")
    assert response.status_code in (400, 401, 403)
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_an_event_for_an_unknown_message_is_ignored(client, sent):
    event = {"eventType": "Delivery", "delivery": {"recipients": ["x@example.com"]}, "mail": {**mail(["x@example.com"]), "messageId": "unknown"}}
    assert post_ses_event(client, event).status_code == 200
    assert not Event.objects.exists()
