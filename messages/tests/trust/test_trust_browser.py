# ruff: noqa: F811  (the browser fixtures imported from the staff UI's conftest are parameters here)
"""The "Unverified sender" marker in a real browser: Playwright driving Debian's Chromium.

A forged "From: ceo@<a known contact's domain>" arrives over SMTP (the real listener, with
Sendook's own SPF/DKIM/DMARC checks against the loopback DNS server) beside genuine, signed mail
from that domain; the marker is also checked on mail fed to the pipeline with failing verdicts.
Run with `pytest -m browser`; skipped when /usr/bin/chromium is missing.
"""

import os
from pathlib import Path

import pytest

from inboxes.tests.factories import DomainFactory, InboxFactory, MembershipFactory
from messages.models import Correspondent, Message
from messages.services.receive import process_inbound_email, receive_raw_email
from messages.tests.inbound.mail import build_email
from messages.tests.trust.conftest import sign
from messages.tests.ui.conftest import (  # noqa: F401  (the staff UI's browser fixtures)
    browser,
    page,
    screenshots,
)
from sendook.events.models import Event

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
FAILING = {"spf": "fail", "dkim": "fail", "dmarc": "fail"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]


def _deliver(raw: bytes, *, to: str, verdicts: dict) -> Message:
    record = receive_raw_email(raw, recipients=[to], source="smtp", verdicts=verdicts)
    process_inbound_email(record)  # already done where on-commit ran it: then a no-op
    return Message.objects.get(inbound_email=record)


def test_a_forged_mail_from_a_known_contacts_domain_shows_the_unverified_sender_marker(
    page, live_server, org, screenshots
):
    domain = DomainFactory(organization=org, name="acme.test", verified=True)
    inbox = InboxFactory(organization=org, email="support@acme.test", name="Support", domain=domain)
    Correspondent.objects.create(inbox=inbox, email="buyer@globex.example")  # a known contact
    member = MembershipFactory(organization=org).user
    genuine = _deliver(
        build_email(
            sender="Bea Buyer <buyer@globex.example>",
            to=inbox.email,
            subject="Invoice 1042",
            text="Please find the invoice attached.",
            message_id="<inv-1042@globex.example>",
        ),
        to=inbox.email,
        verdicts={"spf": "pass", "dkim": "pass", "dmarc": "pass"},
    )
    forged = _deliver(
        build_email(
            sender="Globex CEO <ceo@globex.example>",
            to=inbox.email,
            subject="Re: Invoice 1042",
            text="Urgent: pay the invoice to our new account today.",
            in_reply_to="<inv-1042@globex.example>",
            references="<inv-1042@globex.example>",
        ),
        to=inbox.email,
        verdicts=FAILING,
    )
    assert forged.thread_id == genuine.thread_id
    assert forged.trust["authenticated"] is False and genuine.trust["authenticated"] is True

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/threads/{forged.thread.public_id}")

    marker = page.locator(f"#{forged.public_id} .unverified-sender")
    marker.wait_for()
    assert marker.is_visible()
    assert "Unverified sender" in marker.inner_text()
    assert "globex.example" in marker.inner_text()
    # Said in words inside the message's own header, not by colour alone; the genuine mail
    # from the same domain carries no warning.
    assert page.locator(f"#{forged.public_id} header [role=note]").count() == 1
    assert page.locator(f"#{genuine.public_id} .trust-warning").count() == 0
    page.screenshot(path=str(screenshots / "trust_unverified_sender.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_forged_ceo_over_smtp_is_marked_unverified_and_its_webhook_payload_says_so(
    page, live_server, org, screenshots, trust_dns, smtp_send
):
    """Genuine mail from globex.example is DKIM-signed (DMARC passes through the aligned
    signature); the forgery comes from an address outside globex.example's SPF record with no
    signature, so SPF fails, DMARC (p=reject) fails, and trust.authenticated is false."""
    inbox = InboxFactory(organization=org, email="support@sendook.localhost", name="Support")
    member = MembershipFactory(organization=org).user
    trust_dns.dkim_key(domain="globex.example")
    trust_dns.spf("globex.example", "v=spf1 ip4:192.0.2.10 -all")  # not 127.0.0.1
    trust_dns.dmarc("globex.example", "v=DMARC1; p=reject")
    genuine_raw = build_email(
        sender="Bea Buyer <buyer@globex.example>",
        to=inbox.email,
        subject="Invoice 1042",
        text="Please find the invoice attached.",
        message_id="<inv-1042@globex.example>",
    )
    smtp_send(
        sign(genuine_raw, trust_dns.key, domain="globex.example"),
        mail_from="buyer@globex.example",
        to=inbox.email,
    )
    smtp_send(
        build_email(
            sender="Globex CEO <ceo@globex.example>",
            to=inbox.email,
            subject="Re: Invoice 1042",
            text="Urgent: pay the invoice to our new account today.",
            in_reply_to="<inv-1042@globex.example>",
            references="<inv-1042@globex.example>",
        ),
        mail_from="ceo@globex.example",
        to=inbox.email,
        helo="mail.globex.example",
    )
    genuine = Message.objects.get(from_email="buyer@globex.example")
    forged = Message.objects.get(from_email="ceo@globex.example")
    assert (genuine.verdicts["dkim"], genuine.verdicts["dmarc"]) == ("pass", "pass")
    assert (forged.verdicts["spf"], forged.verdicts["dmarc"]) == ("fail", "fail")
    assert forged.verdicts["checkedBy"] == "sendook"
    # What a webhook subscriber is sent is the event's payload.
    event = Event.objects.get(type="message.received", message_public_id=forged.public_id)
    assert event.payload["trust"]["authenticated"] is False
    assert event.payload["authentication"]["dmarc"] == "fail"
    assert (
        Event.objects.get(type="message.received", message_public_id=genuine.public_id).payload[
            "trust"
        ]["authenticated"]
        is True
    )

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/threads/{forged.thread.public_id}")
    marker = page.locator(f"#{forged.public_id} .unverified-sender")
    marker.wait_for()
    assert "Unverified sender" in marker.inner_text()
    assert page.locator(f"#{genuine.public_id} .trust-warning").count() == 0
    page.screenshot(path=str(screenshots / "trust_unverified_sender_smtp.png"), full_page=True)


def test_a_lookalike_domain_says_what_it_looks_like(page, live_server, org, screenshots):
    domain = DomainFactory(organization=org, name="acme.test", verified=True)
    inbox = InboxFactory(organization=org, email="support@acme.test", name="Support", domain=domain)
    member = MembershipFactory(organization=org).user
    message = _deliver(
        build_email(
            sender="IT desk <it@acrne.test>",
            to=inbox.email,
            subject="Password expiry",
            text="Your password expires today: sign in here to keep it.",
        ),
        to=inbox.email,
        verdicts={"spf": "pass", "dkim": "pass", "dmarc": "pass"},  # its own domain, signed
    )
    assert message.trust["lookalikeOf"] == "acme.test"

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/threads/{message.thread.public_id}")

    warning = page.locator(f"#{message.public_id} .lookalike")
    warning.wait_for()
    assert "Looks like acme.test" in warning.inner_text()
    assert "acrne.test" in warning.inner_text()
    # It authenticated as acrne.test: a lookalike, not an unverified sender.
    assert page.locator(f"#{message.public_id} .unverified-sender").count() == 0
    page.screenshot(path=str(screenshots / "trust_lookalike.png"), full_page=True)
