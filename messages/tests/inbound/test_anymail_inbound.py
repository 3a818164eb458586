"""Mail arriving through Anymail's own inbound webhook views (Postmark, SendGrid)."""

from __future__ import annotations

import base64
import json

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db

AUTH = "hook:s3cret"


@pytest.fixture(autouse=True)
def webhook_secret(settings, enable_providers):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(inbound=["postmark", "sendgrid", "mailgun"])


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost")


def basic_auth(secret: str = AUTH) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post_postmark(client, payload=None, *, secret: str = AUTH):
    return client.post(
        "/webhooks/anymail/postmark/inbound/",
        data=json.dumps(payload if payload is not None else postmark_payload()),
        content_type="application/json",
        **basic_auth(secret),
    )


def postmark_payload(**overrides):
    payload = {
        "FromFull": {"Email": "ada@example.org", "Name": "Ada Lovelace"},
        "ToFull": [{"Email": "support+billing@sendook.localhost", "Name": ""}],
        "CcFull": [],
        "OriginalRecipient": "support+billing@sendook.localhost",
        "Subject": "Invoice question",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Thu, 19 Nov 2026 10:00:00 +0000",
        "TextBody": "Where is my invoice?",
        "HtmlBody": "<p>Where is my invoice?</p>",
        "Headers": [
            {"Name": "Return-Path", "Value": "<ada@example.org>"},
            {"Name": "Message-ID", "Value": "<pm1@example.org>"},
        ],
        "Attachments": [
            {
                "Name": "invoice.pdf",
                "Content": base64.b64encode(b"%PDF fake").decode(),
                "ContentType": "application/pdf",
                "ContentLength": 9,
            }
        ],
    }
    payload.update(overrides)
    return payload


def test_postmark_inbound_mail_reaches_the_inbox_with_its_attachment(
    client, inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_postmark(client)

    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert record.source == "anymail:postmark"
    assert record.envelope_recipients == ["support+billing@sendook.localhost"]
    message = Message.objects.get()
    assert message.inbox == inbox
    assert message.subject == "Invoice question"
    assert (message.from_email, message.from_name) == ("ada@example.org", "Ada Lovelace")
    assert message.message_id == "<pm1@example.org>"
    assert "billing" in message.labels
    assert message.html.strip() == "<p>Where is my invoice?</p>"
    assert message.attachments.get().file.read() == b"%PDF fake"


def test_a_postmark_retry_of_the_same_mail_stores_nothing_new(
    client, inbox, django_capture_on_commit_callbacks
):
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_postmark(client)
        assert response.status_code == 200

    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == 1


def test_postmark_without_the_webhook_secret_is_refused_and_stores_nothing(client, inbox):
    response = post_postmark(client, secret="hook:wrong")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert InboundEmail.objects.count() == 0


def test_sendgrid_raw_mime_inbound_mail_reaches_the_inbox(
    client, inbox, django_capture_on_commit_callbacks
):
    raw = build_email(
        subject="Raw via SendGrid",
        message_id="<sg1@example.org>",
        html="<p>hello</p>",
        inline_images=[("img1", b"\x89PNG fake")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/anymail/sendgrid/inbound/",
            data={
                "email": raw.decode(),
                "envelope": json.dumps(
                    {"to": ["Support@Sendook.localhost"], "from": "ada@example.org"}
                ),
                "spam_score": "0.1",
            },
            **basic_auth(),
        )

    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert record.source == "anymail:sendgrid"
    message = Message.objects.get()
    assert message.inbox == inbox
    assert message.subject == "Raw via SendGrid"
    assert message.message_id == "<sg1@example.org>"
    image = message.attachments.get()
    assert image.inline and image.content_id == "img1"
    assert image.file.read() == b"\x89PNG fake"


def mailgun_signed(fields: dict, key: str, *, timestamp: str = "1700000000") -> dict:
    import hashlib
    import hmac

    token = "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_mailgun_raw_mime_inbound_mail_reaches_the_inbox(
    client, inbox, settings, django_capture_on_commit_callbacks
):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "mg-key"}
    raw = build_email(subject="Via Mailgun", message_id="<mg1@example.org>")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/anymail/mailgun/inbound_mime/",
            data=mailgun_signed(
                {"body-mime": raw.decode(), "recipient": "support@sendook.localhost"}, "mg-key"
            ),
            **basic_auth(),
        )

    assert response.status_code == 200
    assert InboundEmail.objects.get().source == "anymail:mailgun"
    message = Message.objects.get()
    assert message.inbox == inbox and message.subject == "Via Mailgun"


def test_mailgun_with_a_bad_signature_stores_nothing(client, inbox, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "mg-key"}

    response = client.post(
        "/webhooks/anymail/mailgun/inbound_mime/",
        data=mailgun_signed(
            {"body-mime": build_email().decode(), "recipient": "support@sendook.localhost"},
            "not-the-key",
        ),
        **basic_auth(),
    )

    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert InboundEmail.objects.count() == 0


def test_postmark_gets_a_json_503_when_the_raw_mail_cannot_be_stored_and_its_retry_lands(
    client, inbox, settings, tmp_path, django_capture_on_commit_callbacks
):
    # A real storage failure: the media root lies under a regular file, so no directory can be made.
    (tmp_path / "not-a-directory").write_text("")
    settings.MEDIA_ROOT = str(tmp_path / "not-a-directory" / "media")

    response = post_postmark(client)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "raw_storage_failed"
    assert response["Retry-After"]
    assert InboundEmail.objects.count() == 0

    settings.MEDIA_ROOT = str(tmp_path / "media")
    with django_capture_on_commit_callbacks(execute=True):
        retry = post_postmark(client)
    assert retry.status_code == 200
    assert Message.objects.get().subject == "Invoice question"
