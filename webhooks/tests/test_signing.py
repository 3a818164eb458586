import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import signing

BODY = json.dumps({"id": "evt_1", "event": "message.received", "payload": {"x": "é"}}).encode()


def signed_headers(secret: str, body: bytes = BODY) -> dict[str, str]:
    return signing.headers(secret, msg_id="evt_1", timestamp=int(time.time()), body=body)


def test_generated_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.generate_secret() != secret


def test_stock_verifier_accepts_our_signature():
    secret = signing.generate_secret()
    assert Webhook(secret).verify(BODY, signed_headers(secret)) == json.loads(BODY)


def test_signature_matches_the_stock_signer_byte_for_byte():
    secret = signing.generate_secret()
    ours = signing.sign(secret, msg_id="evt_42", timestamp=1_700_000_000, body=BODY)
    moment = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert ours == Webhook(secret).sign("evt_42", moment, BODY.decode())
    assert ours.startswith("v1,")


def test_stock_verifier_rejects_a_tampered_body():
    secret = signing.generate_secret()
    headers = signed_headers(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"evt_1", b"evt_2"), headers)


def test_stock_verifier_rejects_the_wrong_secret():
    headers = signed_headers(signing.generate_secret())
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(BODY, headers)


def test_headers_carry_id_timestamp_signature_and_json_content_type():
    secret = signing.generate_secret()
    headers = signing.headers(secret, msg_id="evt_9", timestamp=1_700_000_000, body=b"{}")
    assert headers == {
        "webhook-id": "evt_9",
        "webhook-timestamp": "1700000000",
        "webhook-signature": signing.sign(
            secret, msg_id="evt_9", timestamp=1_700_000_000, body=b"{}"
        ),
        "content-type": "application/json",
    }


def test_secret_without_whsec_prefix_is_refused():
    with pytest.raises(ValueError, match="whsec_"):
        signing.sign("c2VjcmV0", msg_id="evt_1", timestamp=1, body=b"{}")


def test_secret_that_is_not_base64_is_refused():
    with pytest.raises(ValueError, match="base64"):
        signing.sign("whsec_not base64!", msg_id="evt_1", timestamp=1, body=b"{}")
