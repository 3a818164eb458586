"""SNS verification, against real RSA signatures and real TLS."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from messages.inbound.ses.notifications import SesInbound, parse_ses_notification
from messages.inbound.ses.sns import (
    CertificateFetcher,
    SnsVerificationError,
    validate_subscribe_url,
    verify_sns_message,
)
from messages.tests.inbound.ses.sns_testing import (
    CERT_PATH,
    CERT_URL,
    SNS_HOST,
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
from messages.tests.inbound.ses.test_notifications import RAW_MIME, receipt_payload


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SnsTestPki:
    return create_test_pki(tmp_path_factory.mktemp("sns-pki"))


@pytest.fixture
def server(pki: SnsTestPki) -> Iterator[CertificateServer]:
    with serve_certificate(pki) as running:
        yield running


@pytest.fixture
def fetcher(server: CertificateServer) -> CertificateFetcher:
    return CertificateFetcher(connect_to=server.connect_to, ca_bundle=server.ca_bundle)


def signed(pki: SnsTestPki, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
    return sign_sns_message(message, key=pki.leaf_key, signature_version=version)


def verify(message: dict[str, Any], fetcher: CertificateFetcher, **kwargs: Any) -> None:
    kwargs.setdefault("allowed_topic_arns", {TOPIC_ARN})
    verify_sns_message(message, fetcher=fetcher, **kwargs)


def rejection_reason(message: dict[str, Any], fetcher: CertificateFetcher, **kwargs: Any) -> str:
    with pytest.raises(SnsVerificationError) as caught:
        verify(message, fetcher, **kwargs)
    return caught.value.reason


# --------------------------------------------------------------------------------------------
# Signatures


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_genuine_notification_verifies_with_either_signature_version(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer, version: str
) -> None:
    message = signed(pki, build_notification('{"hello": "world"}', subject="Hi"), version)

    verify(message, fetcher)

    assert server.hits.paths == [CERT_PATH]


def test_a_notification_without_subject_verifies(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    message = signed(pki, build_notification("no subject here"))
    assert "Subject" not in message

    verify(message, fetcher)


def test_a_null_subject_is_treated_as_absent(pki: SnsTestPki, fetcher: CertificateFetcher) -> None:
    message = signed(pki, build_notification("body"))
    message["Subject"] = None

    verify(message, fetcher)


@pytest.mark.parametrize("message_type", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_a_genuine_subscription_confirmation_verifies(
    pki: SnsTestPki, fetcher: CertificateFetcher, message_type: str
) -> None:
    message = signed(pki, build_subscription_confirmation(message_type=message_type), "2")

    verify(message, fetcher)

    assert validate_subscribe_url(message["SubscribeURL"]) == message["SubscribeURL"]


def test_a_tampered_message_body_is_rejected(pki: SnsTestPki, fetcher: CertificateFetcher) -> None:
    message = signed(pki, build_notification('{"amount": 1}'))
    message["Message"] = '{"amount": 1000}'

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_tampered_subject_is_rejected(pki: SnsTestPki, fetcher: CertificateFetcher) -> None:
    message = signed(pki, build_notification("body", subject="Original"))
    message["Subject"] = "Changed"

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_subject_added_after_signing_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    message = signed(pki, build_notification("body"))
    message["Subject"] = "Injected"

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_tampered_subscribe_url_is_rejected(pki: SnsTestPki, fetcher: CertificateFetcher) -> None:
    message = signed(pki, build_subscription_confirmation())
    message["SubscribeURL"] = f"https://{SNS_HOST}/?Action=ConfirmSubscription&Token=other"

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_message_signed_with_another_key_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    message = sign_sns_message(build_notification("body"), key=generate_rsa_key())

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_v1_signature_relabelled_as_v2_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    message = signed(pki, build_notification("body"), "1")
    message["SignatureVersion"] = "2"

    assert rejection_reason(message, fetcher) == "bad_signature"


def test_a_signature_that_is_not_base64_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    message = signed(pki, build_notification("body"))
    message["Signature"] = "not base64!"

    assert rejection_reason(message, fetcher) == "bad_signature"


@pytest.mark.parametrize("version", ["3", "0", ""])
def test_an_unknown_signature_version_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, version: str
) -> None:
    message = signed(pki, build_notification("body"))
    message["SignatureVersion"] = version

    assert rejection_reason(message, fetcher) == "bad_signature_version"


# --------------------------------------------------------------------------------------------
# Envelope fields


def test_a_message_from_an_unknown_topic_is_rejected_before_any_fetch(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer
) -> None:
    other_topic = "arn:aws:sns:us-east-1:999999999999:someone-else"
    message = signed(pki, build_notification("body", topic_arn=other_topic))

    assert rejection_reason(message, fetcher) == "unknown_topic"
    assert server.hits.count == 0


@pytest.mark.parametrize(
    "field_name",
    [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ],
)
def test_a_notification_missing_a_required_field_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer, field_name: str
) -> None:
    message = signed(pki, build_notification("body"))
    del message[field_name]

    assert rejection_reason(message, fetcher) == "missing_field"
    assert server.hits.count == 0


@pytest.mark.parametrize("field_name", ["SubscribeURL", "Token"])
def test_a_confirmation_missing_a_required_field_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, field_name: str
) -> None:
    message = signed(pki, build_subscription_confirmation())
    del message[field_name]

    assert rejection_reason(message, fetcher) == "missing_field"


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("Message", {"nested": "object"}),
        ("MessageId", 12345),
        ("TopicArn", [TOPIC_ARN]),
        ("Timestamp", 1700000000),
        ("SignatureVersion", 1),
        ("Signature", b"bytes"),
        ("SigningCertURL", {"url": CERT_URL}),
        ("Subject", 42),
        ("Type", ["Notification"]),
    ],
)
def test_a_field_that_is_not_a_string_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, field_name: str, value: object
) -> None:
    message = signed(pki, build_notification("body", subject="s"))
    message[field_name] = value

    assert rejection_reason(message, fetcher) == "invalid_field"


@pytest.mark.parametrize("message_type", ["notification", "Unknown", "SubscriptionConfirmed"])
def test_an_unknown_message_type_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, message_type: str
) -> None:
    message = signed(pki, build_notification("body"))
    message["Type"] = message_type

    assert rejection_reason(message, fetcher) == "bad_type"


def test_a_message_that_is_not_an_object_is_rejected(fetcher: CertificateFetcher) -> None:
    assert rejection_reason(["Type", "Notification"], fetcher) == "malformed_message"  # type: ignore[arg-type]


def test_a_replayed_message_older_than_the_limit_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer
) -> None:
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    message = signed(pki, build_notification("body", timestamp=two_hours_ago))

    assert rejection_reason(message, fetcher) == "stale"
    assert server.hits.count == 0
    # The same genuine message is accepted when the caller opts out of the age check.
    verify(message, fetcher, max_age_seconds=None)


def test_a_message_dated_in_the_future_is_rejected(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    message = signed(pki, build_notification("body", timestamp=tomorrow))

    assert rejection_reason(message, fetcher) == "bad_timestamp"


def test_an_unparseable_timestamp_is_rejected(pki: SnsTestPki, fetcher: CertificateFetcher) -> None:
    message = signed(pki, dict(build_notification("body"), Timestamp="yesterday-ish"))

    assert rejection_reason(message, fetcher) == "bad_timestamp"


# --------------------------------------------------------------------------------------------
# Signing certificate URL and fetching


@pytest.mark.parametrize(
    "cert_url",
    [
        f"http://{SNS_HOST}{CERT_PATH}",
        f"https://evil.com{CERT_PATH}",
        f"https://{SNS_HOST}.evil.com{CERT_PATH}",
        f"https://evil.com/{SNS_HOST}{CERT_PATH}",
        f"https://user:pass@{SNS_HOST}{CERT_PATH}",
        f"https://{SNS_HOST}@evil.com{CERT_PATH}",
        f"https://{SNS_HOST}:8443{CERT_PATH}",
        f"https://{SNS_HOST}:notaport{CERT_PATH}",
        f"https://{SNS_HOST}\\@evil.com{CERT_PATH}",
        f"https://{SNS_HOST}/SimpleNotificationService.txt",
        f"https://{SNS_HOST}{CERT_PATH}?x=.pem",
        f"https://{SNS_HOST}{CERT_PATH}#.pem",
        f"https://sns.amazonaws.com{CERT_PATH}",
        f"https://sqs.us-east-1.amazonaws.com{CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com.{CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com {CERT_PATH}",
        f"ftp://{SNS_HOST}{CERT_PATH}",
    ],
)
def test_a_certificate_url_outside_sns_is_rejected_without_fetching(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer, cert_url: str
) -> None:
    message = sign_sns_message(build_notification("body"), key=pki.leaf_key, cert_url=cert_url)

    assert rejection_reason(message, fetcher) == "bad_certificate_url"
    assert server.hits.count == 0


@pytest.mark.parametrize(
    "cert_url",
    [
        f"https://{SNS_HOST}{CERT_PATH}",
        f"https://{SNS_HOST}:443{CERT_PATH}",
        f"https://sns.eu-west-1.amazonaws.com{CERT_PATH}",
        f"https://sns.cn-north-1.amazonaws.com.cn{CERT_PATH}",
        f"https://sns.us-gov-west-1.amazonaws.com{CERT_PATH}",
    ],
)
def test_certificate_urls_on_sns_hosts_are_accepted(cert_url: str) -> None:
    CertificateFetcher().validate_url(cert_url)


def test_the_certificate_is_fetched_once_across_many_verifications(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer
) -> None:
    messages = [
        signed(pki, build_notification(f"message {n}"), "1" if n % 2 else "2") for n in range(40)
    ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda message: verify(message, fetcher), messages))
    for message in messages[:5]:
        verify(message, fetcher)

    assert server.hits.count == 1


def test_a_fresh_fetcher_does_not_share_the_cache(
    pki: SnsTestPki, server: CertificateServer
) -> None:
    message = signed(pki, build_notification("body"))
    for _ in range(2):
        fetcher = CertificateFetcher(connect_to=server.connect_to, ca_bundle=server.ca_bundle)
        verify(message, fetcher)
        verify(message, fetcher)

    assert server.hits.count == 2


def test_a_missing_certificate_is_a_fetch_failure(
    pki: SnsTestPki, fetcher: CertificateFetcher, server: CertificateServer
) -> None:
    missing_url = f"https://{SNS_HOST}/SimpleNotificationService-missing.pem"
    message = sign_sns_message(build_notification("body"), key=pki.leaf_key, cert_url=missing_url)

    assert rejection_reason(message, fetcher) == "certificate_fetch_failed"
    assert server.hits.paths == ["/SimpleNotificationService-missing.pem"]


def test_a_server_not_trusted_by_the_ca_bundle_is_a_fetch_failure(
    pki: SnsTestPki, server: CertificateServer, tmp_path: Any
) -> None:
    stranger = create_test_pki(tmp_path)  # a different CA that never issued the server cert
    fetcher = CertificateFetcher(connect_to=server.connect_to, ca_bundle=stranger.ca_bundle)

    assert rejection_reason(signed(pki, build_notification("body")), fetcher) == (
        "certificate_fetch_failed"
    )
    assert server.hits.count == 0  # TLS failed before any HTTP request was made


def test_the_system_trust_store_does_not_trust_the_test_server(
    pki: SnsTestPki, server: CertificateServer
) -> None:
    fetcher = CertificateFetcher(connect_to=server.connect_to)

    assert rejection_reason(signed(pki, build_notification("body")), fetcher) == (
        "certificate_fetch_failed"
    )


def test_an_unreachable_certificate_host_is_a_fetch_failure(pki: SnsTestPki) -> None:
    with serve_certificate(pki) as stopped:
        port = stopped.port
    fetcher = CertificateFetcher(connect_to=f"127.0.0.1:{port}", ca_bundle=pki.ca_bundle, timeout=2)

    assert rejection_reason(signed(pki, build_notification("body")), fetcher) == (
        "certificate_fetch_failed"
    )


# --------------------------------------------------------------------------------------------
# Subscribe URLs


def test_a_subscribe_url_on_sns_is_returned_unchanged() -> None:
    url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=a&Token=b"

    assert validate_subscribe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://evil.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com@evil.com/",
        "https://sns.us-east-1.amazonaws.com:8080/?Action=ConfirmSubscription",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/",
        "",
    ],
)
def test_a_subscribe_url_outside_sns_is_refused(url: str) -> None:
    with pytest.raises(SnsVerificationError) as caught:
        validate_subscribe_url(url)

    assert caught.value.reason == "bad_subscribe_url"


def test_a_verified_and_parsed_inbound_round_trip(
    pki: SnsTestPki, fetcher: CertificateFetcher
) -> None:
    action = {"type": "SNS", "topicArn": TOPIC_ARN, "encoding": "BASE64"}
    payload = receipt_payload(action, content=base64.b64encode(RAW_MIME).decode())
    message = signed(
        pki,
        build_notification(json.dumps(payload), subject="Amazon SES Email Receipt Notification"),
        "2",
    )

    verify(message, fetcher)
    inbound = parse_ses_notification(message)

    assert isinstance(inbound, SesInbound)
    assert inbound.notification_id == message["MessageId"]
    assert inbound.content == RAW_MIME
