"""POST /webhooks/ses: signed SNS deliveries, verified against a certificate served on loopback."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from django.db import connection
from django.test import Client

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message, Suppression
from messages.tests.inbound.mail import build_email
from messages.tests.inbound.ses.sns_testing import (
    TOPIC_ARN,
    CertificateServer,
    SnsTestPki,
    build_notification,
    build_subscription_confirmation,
    create_test_pki,
    generate_rsa_key,
    serve_certificate,
    sign_sns_message,
)
from sendook.events.models import Event

URL = "/webhooks/ses"
BUCKET = "sendook-inbound-mail"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SnsTestPki:
    return create_test_pki(tmp_path_factory.mktemp("sns-pki"))


@pytest.fixture
def sns(pki: SnsTestPki, settings: Any) -> Iterator[CertificateServer]:
    with serve_certificate(pki) as server:
        settings.SENDOOK_SES_TOPIC_ARNS = [TOPIC_ARN]
        settings.SENDOOK_SES_S3_BUCKETS = [BUCKET]
        settings.SENDOOK_SNS_CERT_CONNECT_TO = server.connect_to
        settings.SENDOOK_SNS_CA_BUNDLE = server.ca_bundle
        yield server


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost")


def ses_received(raw: bytes | None, *, recipients: list[str], s3_key: str = "") -> str:
    receipt: dict[str, Any] = {
        "recipients": recipients,
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "PASS"},
        "dmarcVerdict": {"status": "PASS"},
        "spamVerdict": {"status": "PASS"},
        "virusVerdict": {"status": "PASS"},
    }
    payload: dict[str, Any] = {
        "notificationType": "Received",
        "mail": {"messageId": "ses-mail-1", "destination": recipients},
        "receipt": receipt,
    }
    if s3_key:
        receipt["action"] = {"type": "S3", "bucketName": BUCKET, "objectKey": s3_key}
    else:
        receipt["action"] = {"type": "SNS", "encoding": "BASE64"}
        payload["content"] = base64.b64encode(raw or b"").decode()
    return json.dumps(payload)


def post(client: Client, body: Any, **extra: Any):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=data, content_type="text/plain", **extra)


def signed_notification(pki: SnsTestPki, message: str, **kwargs: Any) -> dict[str, Any]:
    return sign_sns_message(build_notification(message, **kwargs), key=pki.leaf_key)


@pytest.mark.django_db
def test_a_signed_inline_notification_stores_and_delivers_the_mail(
    client, pki, sns, inbox, django_capture_on_commit_callbacks
):
    raw = build_email(subject="Via SES", message_id="<ses1@example.org>")
    body = signed_notification(pki, ses_received(raw, recipients=[inbox.email]))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "stored"
    record = InboundEmail.objects.get()
    assert record.source == "ses_sns"
    assert record.raw.read() == raw
    message = Message.objects.get()
    assert message.subject == "Via SES" and message.inbox == inbox
    assert message.verdicts["spf"] == "pass"
    assert Event.objects.filter(type="message.received").count() == 1
    assert sns.hits.count == 1  # the certificate was fetched once, over loopback TLS


@pytest.mark.django_db
def test_a_signed_s3_notification_fetches_the_mail_from_the_bucket(
    client, pki, sns, inbox, aws, django_capture_on_commit_callbacks
):
    raw = build_email(
        subject="Via S3", attachments=[("a.bin", "application/octet-stream", b"\x00" * 10)]
    )
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="mail/abc", Body=raw)
    body = signed_notification(pki, ses_received(None, recipients=[inbox.email], s3_key="mail/abc"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body)

    assert response.status_code == 200, response.content
    record = InboundEmail.objects.get()
    assert record.source == "ses_s3" and record.raw.read() == raw
    message = Message.objects.get()
    assert message.subject == "Via S3"
    assert message.attachments.get().file.read() == b"\x00" * 10


@pytest.mark.django_db
def test_an_s3_notification_for_an_unconfigured_bucket_is_refused(client, pki, sns, inbox):
    message = json.loads(ses_received(None, recipients=[inbox.email], s3_key="k"))
    message["receipt"]["action"]["bucketName"] = "someone-elses-bucket"
    response = post(client, signed_notification(pki, json.dumps(message)))

    assert response.status_code == 403
    assert response.json()["code"] == "unknown_bucket"
    assert InboundEmail.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["tampered", "other_key", "unknown_topic", "unsigned"])
def test_forged_notifications_are_refused_and_store_nothing(client, pki, sns, inbox, forgery):
    message = ses_received(build_email(), recipients=[inbox.email])
    if forgery == "tampered":
        body = signed_notification(pki, message)
        body["Message"] = body["Message"].replace("PASS", "FAIL")
    elif forgery == "other_key":
        body = sign_sns_message(build_notification(message), key=generate_rsa_key())
    elif forgery == "unknown_topic":
        body = signed_notification(pki, message, topic_arn="arn:aws:sns:us-east-1:999:evil")
    else:
        body = build_notification(message)

    response = post(client, body)

    assert 400 <= response.status_code < 500
    assert response.json()["code"]
    assert InboundEmail.objects.count() == 0
    assert Message.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe\x00garbage", b"[1, 2]", b""])
def test_bodies_that_are_not_json_objects_get_a_json_400(client, sns, body):
    response = post(client, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_json"


@pytest.mark.django_db
def test_an_oversized_body_gets_413(client, sns, settings):
    settings.SENDOOK_SNS_MAX_BODY_BYTES = 1000

    response = post(client, b"{" + b" " * 2000 + b"}")

    assert response.status_code == 413
    assert InboundEmail.objects.count() == 0


@pytest.mark.django_db
def test_get_is_answered_with_a_json_405(client, sns):
    response = client.get(URL)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_subscription_to_a_configured_topic_is_confirmed(client, pki, sns):
    body = sign_sns_message(build_subscription_confirmation(), key=pki.leaf_key)

    response = post(client, body)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "subscribed"
    assert any(path.startswith("/?Action=ConfirmSubscription&") for path in sns.hits.paths)


@pytest.mark.django_db
def test_a_subscription_to_another_topic_is_not_confirmed(client, pki, sns):
    body = sign_sns_message(
        build_subscription_confirmation(topic_arn="arn:aws:sns:us-east-1:999:other"),
        key=pki.leaf_key,
    )

    response = post(client, body)

    assert response.status_code == 403
    assert sns.hits.count == 0


@pytest.mark.django_db
def test_ses_delivery_events_update_the_sent_message(client, pki, sns, inbox):
    from messages.models import Thread

    thread = Thread.objects.create(organization=inbox.organization, inbox=inbox)
    sent = Message.objects.create(
        organization=inbox.organization,
        inbox=inbox,
        thread=thread,
        direction="outbound",
        status="sent",
        from_email=inbox.email,
        external_message_id="ses-out-1",
    )
    event = {
        "eventType": "Bounce",
        "mail": {"messageId": "ses-out-1"},
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "x@y.z"}]},
    }
    body = signed_notification(pki, json.dumps(event))

    for _ in range(3):  # SNS redelivers
        response = post(client, body)
        assert response.status_code == 200

    sent.refresh_from_db()
    assert sent.status == "bounced"
    assert sent.status_detail["last"]["bounceType"] == "Permanent"
    # a hard bounce puts the address on the suppression list, as through Anymail
    assert Suppression.objects.filter(organization=inbox.organization, email="x@y.z").exists()
    assert Event.objects.filter(type="message.bounced").count() == 1


@pytest.mark.django_db
def test_a_redelivery_storm_stores_one_message(
    client, pki, sns, inbox, django_capture_on_commit_callbacks
):
    body = signed_notification(pki, ses_received(build_email(), recipients=[inbox.email]))

    with django_capture_on_commit_callbacks(execute=True):
        statuses = {post(client, body).status_code for _ in range(20)}

    assert statuses == {200}
    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_redelivery_storm_stores_one_message_per_inbox(pki, sns, org):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the concurrent storm needs PostgreSQL")
    InboxFactory(organization=org, email="a@sendook.localhost")
    InboxFactory(organization=org, email="b@sendook.localhost")
    raw = build_email(to="a@sendook.localhost, b@sendook.localhost")
    recipients = ["a@sendook.localhost", "b@sendook.localhost"]
    # Two SNS notifications (two receipt rules) for the same mail, each redelivered many times.
    bodies = [signed_notification(pki, ses_received(raw, recipients=recipients)) for _ in range(2)]
    barrier = threading.Barrier(8)

    def storm(i: int) -> list[int]:
        from django.db import connections

        barrier.wait()
        try:
            return [post(Client(), bodies[(i + n) % 2]).status_code for n in range(5)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        statuses = [code for codes in pool.map(storm, range(8)) for code in codes]

    assert set(statuses) == {200}
    assert InboundEmail.objects.count() == 2
    assert Message.objects.filter(inbox__email="a@sendook.localhost").count() == 1
    assert Message.objects.filter(inbox__email="b@sendook.localhost").count() == 1
    assert Event.objects.filter(type="message.received").count() == 2
