"""Every fixture .eml (real clients and providers) through the whole pipeline via the CLI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from inboxes.addresses import split_address
from inboxes.models import Inbox
from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message, Thread
from messages.parsing import parse_email
from sendook.events.models import Event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
HOSTED_DOMAIN = "sendook.dev"

pytestmark = pytest.mark.django_db


def fixture_names() -> list[str]:
    return sorted(path.name for path in FIXTURES.glob("*.eml"))


def hosted_addresses(parsed) -> list[str]:
    """The sendook.dev addresses the mail is for, as the CLI will route it (To and Cc)."""
    addresses = []
    for address in [*parsed.to, *parsed.cc]:
        base, _ = split_address(address.email)
        if base.endswith("@" + HOSTED_DOMAIN) and base not in addresses:
            addresses.append(base)
    return addresses


def run_cli(monkeypatch, raw: bytes) -> object:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("receive_email", stdout=out)
    return json.loads(out.getvalue())


def seed_sent_message(inbox: Inbox, message_id: str) -> Thread:
    """A message this inbox sent earlier, which the fixture replies to."""
    thread = Thread.objects.create(organization=inbox.organization, inbox=inbox, subject="Earlier")
    Message.objects.create(
        organization=inbox.organization,
        inbox=inbox,
        thread=thread,
        direction="outbound",
        status="sent",
        from_email=inbox.email,
        subject="Earlier",
        message_id=message_id,
    )
    return thread


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_is_stored_as_the_sender_wrote_it(org, monkeypatch, name):
    raw = (FIXTURES / name).read_bytes()
    parsed = parse_email(raw)
    addresses = hosted_addresses(parsed)
    inboxes = [InboxFactory(organization=org, email=address) for address in addresses]
    parent = parsed.in_reply_to or (parsed.references[-1] if parsed.references else None)
    seeded = seed_sent_message(inboxes[0], parent) if inboxes and parent else None

    output = run_cli(monkeypatch, raw)

    record = InboundEmail.objects.get()
    assert record.status == InboundEmail.Status.PROCESSED, record.error or record.quarantine_reason
    assert record.raw.read() == raw
    messages = list(Message.objects.filter(direction="inbound").order_by("id"))
    assert [m["id"] for m in output] == [m.public_id for m in messages]
    assert sorted(m.inbox.email for m in messages) == sorted(addresses)
    assert Event.objects.filter(type="message.received").count() == len(messages)
    if not addresses:
        assert record.unknown_recipients  # addressed to nobody we host: recorded, not an error
    for message in messages:
        assert message.from_email == parsed.from_.email
        assert message.from_name == parsed.from_.name
        assert message.subject == parsed.subject
        assert message.text == parsed.text
        assert message.html == parsed.html
        assert message.extracted_text == parsed.extracted_text
        assert message.message_id == (parsed.message_id or "")
        assert message.in_reply_to == (parsed.in_reply_to or "")
        assert message.references == parsed.references
        assert message.to == [a.email for a in parsed.to]
        assert message.raw.read() == raw
        stored = sorted(
            (a.filename, a.content_type, a.file.read(), a.content_id, a.inline)
            for a in message.attachments.all()
        )
        expected = sorted(
            (a.filename, a.content_type, a.content, a.content_id or "", a.inline)
            for a in parsed.attachments
        )
        assert stored == expected
        assert message.thread.message_count >= 1
        if seeded is not None and message.inbox == inboxes[0]:
            assert message.thread == seeded
            assert message.thread_rule == ("in_reply_to" if parsed.in_reply_to else "references")
        elif seeded is None:
            assert message.thread_rule in ("new", "subject")


def test_a_gmail_reply_to_a_plus_address_keeps_the_tag_as_a_label(org, monkeypatch):
    inbox = InboxFactory(organization=org, email="support@sendook.dev")

    [output] = run_cli(monkeypatch, (FIXTURES / "gmail_reply.eml").read_bytes())

    message = Message.objects.get(public_id=output["id"])
    assert message.inbox == inbox
    assert "ticket-42" in message.labels
    assert message.from_name == "Alice Example"
    assert _unverified(message.verdicts)  # its Authentication-Results header is not believed
    # What the user sees as the reply: the new text, without the quoted history.
    assert message.extracted_text == (
        "Thanks, the invoice looks right now. I will pay it this week.\n\nAlice"
    )
    assert "> We fixed the amount" in message.text


def test_plus_addressed_mail_for_two_hosted_inboxes_lands_in_both_with_their_tags(org, monkeypatch):
    billing = InboxFactory(organization=org, email="billing@sendook.dev")
    ops = InboxFactory(organization=org, email="ops@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "plus_addressed.eml").read_bytes())

    assert Message.objects.get(inbox=billing).labels == ["acme-corp"]
    assert Message.objects.get(inbox=ops).labels == ["alerts"]


def test_an_inline_image_keeps_the_content_id_its_html_refers_to(org, monkeypatch):
    InboxFactory(organization=org, email="reader@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "inline_image_cid.eml").read_bytes())

    message = Message.objects.get()
    image = message.attachments.get()
    assert image.inline and image.content_type == "image/png"
    assert f"cid:{image.content_id}" in message.html
    assert image.file.read().startswith(b"\x89PNG")


def test_ses_verdict_headers_inside_the_message_are_not_believed(org, monkeypatch):
    InboxFactory(organization=org, email="inbox@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "ses_verdicts.eml").read_bytes())

    message = Message.objects.get()
    assert _unverified(message.verdicts)
    assert "virus" not in message.labels and "spam" not in message.labels


def test_an_authentication_results_header_inside_the_message_is_not_believed(org, monkeypatch):
    InboxFactory(organization=org, email="victim@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "auth_results.eml").read_bytes())

    assert _unverified(Message.objects.get().verdicts)


def test_legacy_charsets_are_readable_text_not_mojibake(org, monkeypatch):
    InboxFactory(organization=org, email="support@sendook.dev")
    InboxFactory(organization=org, email="contact@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "koi8_r.eml").read_bytes())
    run_cli(monkeypatch, (FIXTURES / "iso_8859_1.eml").read_bytes())

    koi8, latin1 = Message.objects.order_by("id")
    assert any("\u0400" <= char <= "\u04ff" for char in koi8.subject + koi8.text)
    assert "Café" in latin1.subject


def test_bounces_and_vacation_replies_are_labelled_auto_submitted(org, monkeypatch):
    InboxFactory(organization=org, email="support@sendook.dev")
    InboxFactory(organization=org, email="noreply@sendook.dev")

    run_cli(monkeypatch, (FIXTURES / "auto_reply_vacation.eml").read_bytes())
    run_cli(monkeypatch, (FIXTURES / "dsn_bounce.eml").read_bytes())
    run_cli(monkeypatch, (FIXTURES / "gmail_reply.eml").read_bytes())

    vacation, bounce, human = Message.objects.order_by("id")
    assert "auto-submitted" in vacation.labels
    assert "auto-submitted" in bounce.labels
    assert "auto-submitted" not in human.labels


def _unverified(verdicts: dict) -> bool:
    """Sendook's own verdicts for unsigned mail it did not receive over its SMTP listener, and
    nothing a header inside the message claimed (no spam/virus verdict either)."""
    checked = (verdicts["spf"], verdicts["dkim"], verdicts["dmarc"], verdicts["checkedBy"])
    return checked == ("none", "none", "none", "sendook") and not {"spam", "virus"} & set(verdicts)
