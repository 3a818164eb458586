"""Anymail provider webhooks are opt-in and always authenticated; their verdicts are not believed."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from messages.inbound import providers
from messages.models import InboundEmail, Message
from messages.tests.inbound.test_anymail_inbound import basic_auth, postmark_payload

pytestmark = pytest.mark.django_db

AUTH = "hook:s3cret"
POSTMARK = "/webhooks/anymail/postmark/inbound/"
FORGED_VERDICTS = [
    {"Name": "Authentication-Results", "Value": "mx.example; spf=pass; dkim=pass; dmarc=pass"},
    {"Name": "Received-SPF", "Value": "pass"},
    {"Name": "X-SES-Spam-Verdict", "Value": "PASS"},
    {"Name": "X-SES-Virus-Verdict", "Value": "PASS"},
    {"Name": "X-Spam-Status", "Value": "No"},
]


def forge(client, path=POSTMARK, **extra):
    return client.post(
        path, json.dumps(postmark_payload()), content_type="application/json", **extra
    )


def test_with_no_provider_enabled_a_forged_postmark_post_is_a_json_404_and_stores_nothing(
    client, inbox, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}  # a secret alone mounts nothing

    for extra in ({}, basic_auth(AUTH)):
        response = forge(client, **extra)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": "No such provider webhook is enabled",
            "message": "No such provider webhook is enabled",
            "code": "not_found",
        }
    assert InboundEmail.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/anymail/amazon_ses/inbound/",
        "/webhooks/anymail/sendgrid/inbound/",
        "/webhooks/anymail/mandrill/",
        "/webhooks/anymail/nope",
        "/webhooks/nope/",
    ],
)
def test_unmounted_webhook_paths_are_json_404s(client, enable_providers, path):
    enable_providers(inbound=["postmark"])

    response = client.post(path, "{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_enabled_provider_without_its_secret_refuses_even_what_looks_authenticated(
    client, inbox, settings, enable_providers
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}
    enable_providers(inbound=["postmark"])

    for extra in ({}, basic_auth("anything:at-all")):
        response = forge(client, **extra)
        assert response.status_code == 403
        assert response.json()["code"] == "webhook_not_configured"
    assert InboundEmail.objects.count() == 0


def test_a_forged_unauthenticated_postmark_post_is_a_json_401_and_stores_nothing(
    client, inbox, settings, enable_providers
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(inbound=["postmark"])

    for extra in ({}, basic_auth("hook:guess"), {"HTTP_AUTHORIZATION": "Bearer x"}):
        response = forge(client, **extra)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
        assert response["WWW-Authenticate"] == 'Basic realm="sendook-webhooks"'
    assert InboundEmail.objects.count() == 0


def test_authenticated_provider_mail_is_stored_but_its_verdict_headers_are_not_believed(
    client, inbox, settings, enable_providers, django_capture_on_commit_callbacks
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(inbound=["postmark"])
    payload = postmark_payload()
    payload["Headers"] = [*payload["Headers"], *FORGED_VERDICTS]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            POSTMARK, json.dumps(payload), content_type="application/json", **basic_auth(AUTH)
        )

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.inbox == inbox and message.subject == "Invoice question"
    assert _unverified(message.verdicts)
    assert InboundEmail.objects.get().verdicts == {}


@pytest.mark.parametrize("body", ["not json", "[]", '{"FromFull": 7}'])
def test_an_authenticated_but_malformed_body_is_a_json_400(
    client, inbox, settings, enable_providers, body
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(inbound=["postmark"])

    response = client.post(POSTMARK, body, content_type="application/json", **basic_auth(AUTH))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert InboundEmail.objects.count() == 0


def test_get_is_a_json_405_and_head_answers_empty(client, settings, enable_providers):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    enable_providers(inbound=["postmark"])

    assert client.get(POSTMARK).json()["code"] == "method_not_allowed"
    assert client.head(POSTMARK).status_code == 200


# --- every endpoint refuses a forged request, with whichever credential it is configured ---------


def _sendgrid_public_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _signing_key_value(name: str) -> str:
    if name.startswith("RESEND_"):
        return "whsec_" + base64.b64encode(b"k" * 24).decode()
    if name.startswith("SENDGRID_"):
        return _sendgrid_public_key()
    return "a-provider-signing-key"


@pytest.mark.parametrize("key", sorted(providers.ENDPOINTS), ids=lambda key: "-".join(key))
@pytest.mark.parametrize("credential", ["basic_auth", "signing_key"])
def test_every_endpoint_refuses_a_forged_request(
    client, settings, enable_providers, key, credential
):
    endpoint = providers.ENDPOINTS[key]
    if credential == "signing_key" and not endpoint.signing_key:
        pytest.skip("this provider does not sign its webhooks")
    anymail = {k: v for k, v in settings.ANYMAIL.items() if k != "WEBHOOK_SECRET"}
    if credential == "basic_auth":
        anymail["WEBHOOK_SECRET"] = AUTH
    if endpoint.signing_key and (credential == "signing_key" or endpoint.signature_required):
        anymail[endpoint.signing_key] = _signing_key_value(endpoint.signing_key)
    settings.ANYMAIL = anymail
    enable_providers(**{endpoint.kind: [endpoint.provider]})
    assert providers.missing_credentials(endpoint) == ""
    path = "/webhooks/anymail/" + endpoint.paths[0].strip("^$").replace("(_mime)?", "")

    response = client.post(path, json.dumps({"forged": True}), content_type="application/json")

    if credential == "basic_auth":
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    else:
        # Resend and Mailtrap views also need an API key/token (and Resend's tracking view the
        # svix package) before Anymail will build them: without those they refuse everything.
        assert response.status_code == 403
        assert response.json()["code"] in {"bad_signature", "webhook_not_configured"}
    assert InboundEmail.objects.count() == 0


# --- system checks --------------------------------------------------------------------------------


def run_check():
    call_command("check", stdout=None)


def test_the_embedded_defaults_pass_the_system_check(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}
    settings.SENDOOK_INBOUND_PROVIDERS = []
    settings.SENDOOK_TRACKING_PROVIDERS = []

    call_command("check")


@pytest.mark.parametrize(
    ("inbound", "tracking", "anymail", "error"),
    [
        (["postmark"], [], {}, "mail.E002"),
        ([], ["postmark"], {}, "mail.E002"),
        # Mailgun is only as good as its signature: basic auth alone is not enough.
        (["mailgun"], [], {"WEBHOOK_SECRET": AUTH}, "mail.E002"),
        (["amazon_ses"], [], {"WEBHOOK_SECRET": AUTH}, "mail.E001"),
        ([], ["amazon_ses"], {"WEBHOOK_SECRET": AUTH}, "mail.E001"),
        (["no-such-esp"], [], {"WEBHOOK_SECRET": AUTH}, "mail.E001"),
    ],
)
def test_an_enabled_provider_that_cannot_authenticate_fails_the_system_check(
    settings, inbound, tracking, anymail, error
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": None, **anymail}
    settings.SENDOOK_INBOUND_PROVIDERS = inbound
    settings.SENDOOK_TRACKING_PROVIDERS = tracking

    with pytest.raises(SystemCheckError, match=error):
        call_command("check")


def test_an_enabled_provider_with_its_credentials_passes_the_system_check(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": AUTH, "MAILGUN_WEBHOOK_SIGNING_KEY": "k"}
    settings.SENDOOK_INBOUND_PROVIDERS = ["postmark", "mailgun"]
    settings.SENDOOK_TRACKING_PROVIDERS = ["postmark", "mailgun"]

    call_command("check")


def _unverified(verdicts: dict) -> bool:
    """Sendook's own verdicts for unsigned mail it did not receive over its SMTP listener, and
    nothing a header inside the message claimed (no spam/virus verdict either)."""
    checked = (verdicts["spf"], verdicts["dkim"], verdicts["dmarc"], verdicts["checkedBy"])
    return checked == ("none", "none", "none", "sendook") and not {"spam", "virus"} & set(verdicts)
