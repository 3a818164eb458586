"""Reliability 7: header injection with hypothesis over every send field.

Hypothesis generates values for every field of POST /v1/inboxes/{id}/messages/send (to, cc,
bcc, replyTo, subject, text, html, labels, attachments' name, contentType, contentId) mixing
plain text with CR, LF, CRLF, NUL, folding whitespace, encoded words and header-looking lines
("Bcc: evil@…", "X-Injected: 1"), one field poisoned per example. Requests go through the whole
stack in-process (Django's test client); tasks run in-process (no broker), so the accepted
message is built and "sent" by the sandbox backend and its stored raw MIME can be checked.

Figures: injected headers in the built MIME (a top-level or part header the product did not
write, or a header whose value carries a line break; target 0) and 500s (target 0).
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common

TOP_HEADERS = {
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "in-reply-to",
    "references",
}
PART_HEADERS = {
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
    "mime-version",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=150, help="time bound of the search")
    args = parser.parse_args()
    # No broker: tasks run in-process with the sandbox backend; no Redis: local-memory cache.
    common.configure(
        CELERY_BROKER_URL="", CACHE_URL="", EMAIL_BACKEND="messages.sandbox.SandboxEmailBackend"
    )
    common.setup_django()

    from django.test import Client
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from inboxes.services import create_api_key, create_inbox, create_organization
    from messages.models import Message

    organization = create_organization(name=f"reliability-injection-{time.time_ns()}")[0]
    secret = create_api_key(organization, name="reliability").secret
    inbox = create_inbox(organization, name="Injection")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)

    breaks = st.sampled_from(
        ["\r\n", "\n", "\r", "\r\n ", "\n\t", "\0", "\u2028", "\x85", "%0d%0a", "=0D=0A"]
    )
    payload = st.sampled_from(
        [
            "Bcc: evil@attacker.example",
            "X-Injected: 1",
            "Content-Type: text/html",
            "To: evil@attacker.example",
            "\r\nX-Injected: 1",
            "=?utf-8?q?x=0D=0AX-Injected:_1?=",
            "",
            "Subject: owned",
        ]
    )
    base = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
    poison = st.builds(lambda a, b, p, c: f"{a}{b}{p}{c}", base, breaks, payload, base)
    address = st.one_of(
        st.builds(lambda p: f"alice{p}@example.com", poison),
        st.builds(lambda p: f"{p} <alice@example.com>", poison),
        st.builds(lambda p: f'"{p}" <bob@example.com>', poison),
        st.builds(lambda p: f"bob@example.com{p}", poison),
    )
    field = st.sampled_from(
        [
            "to",
            "cc",
            "bcc",
            "reply_to",
            "subject",
            "text",
            "html",
            "labels",
            "att_name",
            "att_type",
            "att_cid",
        ]
    )

    counts = {
        "examples": 0,
        "accepted": 0,
        "refused": 0,
        "server_errors": 0,
        "injected": 0,
        "not_built": 0,
    }
    failures: list[str] = []
    deadline = time.monotonic() + args.seconds

    def check_mime(raw: bytes, label: str) -> None:
        mime = email.message_from_bytes(raw, policy=email.policy.default)
        for index, part in enumerate(mime.walk()):
            allowed = TOP_HEADERS if index == 0 else PART_HEADERS
            for name, value in part.raw_items():
                unfolded = (
                    str(value)
                    .replace("\r\n ", " ")
                    .replace("\r\n\t", " ")
                    .replace("\n ", " ")
                    .replace("\n\t", " ")
                )
                if name.lower() not in allowed or any(c in unfolded for c in "\r\n\0"):
                    counts["injected"] += 1
                    failures.append(f"{label}: part {index} header {name!r}: {str(value)[:120]!r}")
                    return

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(field, poison, address)
    def probe(which: str, value: str, poisoned_address: str) -> None:
        if time.monotonic() > deadline:
            return
        counts["examples"] += 1
        body: dict = {"to": ["alice@example.com"], "subject": "hello", "text": "hi"}
        if which in ("to", "cc", "bcc", "reply_to"):
            body[{"reply_to": "replyTo"}.get(which, which)] = [poisoned_address]
            value = poisoned_address  # what the failures report
        elif which == "labels":
            body["labels"] = [value]
        elif which.startswith("att_"):
            attachment = {"content": base64.b64encode(b"data").decode(), "name": "a.txt"}
            attachment[
                {"att_name": "name", "att_type": "contentType", "att_cid": "contentId"}[which]
            ] = value
            body["attachments"] = [attachment]
        else:
            body[which] = value
        response = client.post(
            f"/v1/inboxes/{inbox.public_id}/messages/send", body, content_type="application/json"
        )
        if response.status_code >= 500:
            counts["server_errors"] += 1
            failures.append(f"{which}={value!r}: HTTP {response.status_code}")
            return
        if response.status_code != 202:
            counts["refused"] += 1
            assert response["Content-Type"].startswith("application/json"), response.content[:200]
            return
        counts["accepted"] += 1
        message = Message.objects.get(public_id=response.json()["id"])
        if not message.raw:
            failures.append(
                f"{which}={value!r}: accepted but not built ({message.status}: {message.status_reason})"
            )
            counts["not_built"] += 1
            return
        check_mime(message.raw.read(), f"{which}={value!r}")

    probe()
    for line in failures[:10]:
        print("  " + line, flush=True)
    print(f"  {counts}", flush=True)
    # not_built: accepted (202) but the MIME could not be built, so it can never be sent.
    ok = (
        counts["injected"] == 0
        and counts["server_errors"] == 0
        and counts["not_built"] == 0
        and counts["accepted"] > 0
    )
    return common.figure(
        ok,
        examples=counts["examples"],
        accepted=counts["accepted"],
        refused=counts["refused"],
        injected_headers=counts["injected"],
        server_errors=counts["server_errors"],
        accepted_not_built=counts["not_built"],
    )


if __name__ == "__main__":
    sys.exit(main())
