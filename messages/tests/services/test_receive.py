# ruff: noqa: F811  (the inbound fixtures, imported below, are named as test arguments)
"""The receiving pipeline: raw first, then parse, route, dedupe, thread, store and emit."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message, Thread, ThreadRule
from messages.services import receive as receive_service
from messages.services.receive import receive_raw_email, reprocess_inbound_email
from messages.tests.inbound.conftest import inbox, receive  # noqa: F401  (the inbound fixtures)
from messages.tests.inbound.mail import build_email
from sendook.events.models import Event

pytestmark = pytest.mark.django_db


def test_the_raw_message_is_committed_before_it_is_parsed(
    inbox, django_capture_on_commit_callbacks
):
    raw = build_email(subject="Raw first")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = receive_raw_email(raw, recipients=[inbox.email], source="local")

    stored = InboundEmail.objects.get(pk=record.pk)
    assert stored.status == InboundEmail.Status.PENDING
    assert stored.raw.read() == raw
    assert stored.size == len(raw)
    assert stored.envelope_recipients == [inbox.email]
    assert Message.objects.count() == 0
    assert len(callbacks) == 1  # the parse task is queued on commit


def test_a_received_message_stores_what_the_sender_wrote(inbox, receive):
    raw = build_email(
        sender="Ada Lovelace <ada@example.org>",
        to="Support <support@sendook.localhost>",
        cc="bob@example.org",
        subject="Question about invoices",
        text="Where is my invoice?\n\nOn Mon, Nov 16, 2026 at 10:00 AM Bob <bob@example.org> wrote:\n> old text\n",
        html="<p>Where is my <b>invoice</b>?</p>",
        message_id="<q1@example.org>",
        extra_headers={"Reply-To": "billing@example.org"},
    )

    record = receive(raw)

    assert record.status == InboundEmail.Status.PROCESSED
    message = Message.objects.get()
    assert message.direction == "inbound" and message.status == "received"
    assert (message.from_email, message.from_name) == ("ada@example.org", "Ada Lovelace")
    assert message.to == ["support@sendook.localhost"]
    assert message.cc == ["bob@example.org"]
    assert message.reply_to == ["billing@example.org"]
    assert message.subject == "Question about invoices"
    assert message.message_id == "<q1@example.org>"
    assert "Where is my invoice?" in message.text
    assert message.html.strip() == "<p>Where is my <b>invoice</b>?</p>"
    assert message.extracted_text == "Where is my invoice?"
    assert message.sent_at is not None and message.sent_at.year == 2026
    assert message.raw.read() == raw
    assert message.thread_rule == ThreadRule.NEW
    assert message.inbound_email == record
    thread = message.thread
    assert thread.message_count == 1
    assert thread.subject == "Question about invoices"
    assert set(thread.participants) >= {"ada@example.org", "support@sendook.localhost"}
    assert thread.preview == "Where is my invoice?"


def test_message_received_is_emitted_with_the_message_object(inbox, receive):
    receive(build_email(subject="Event please"))

    message = Message.objects.get()
    event = Event.objects.get(type="message.received")
    assert event.organization == inbox.organization
    assert event.inbox_public_id == inbox.public_id
    assert event.message_public_id == message.public_id
    assert event.payload["id"] == message.public_id
    assert event.payload["subject"] == "Event please"
    assert event.payload["threadId"] == message.thread.public_id


def test_attachments_and_inline_images_are_stored_with_their_bytes(inbox, receive):
    pdf = b"%PDF-1.4 fake pdf \x00\xff bytes"
    png = b"\x89PNG\r\n\x1a\n fake image"
    raw = build_email(
        html='<p>logo: <img src="cid:logo123"></p>',
        inline_images=[("logo123", png)],
        attachments=[("report.pdf", "application/pdf", pdf)],
    )

    receive(raw)

    message = Message.objects.get()
    attachments = {a.filename: a for a in message.attachments.all()}
    assert len(attachments) == 2
    report = attachments["report.pdf"]
    assert report.content_type == "application/pdf"
    assert report.file.read() == pdf and report.size == len(pdf)
    assert not report.inline
    [image] = [a for a in attachments.values() if a.content_type == "image/png"]
    assert image.file.read() == png
    assert image.content_id == "logo123"
    assert image.inline


def test_the_same_mail_to_two_inboxes_is_one_message_in_each(org, other_org, receive):
    first = InboxFactory(organization=org, email="a@sendook.localhost")
    second = InboxFactory(organization=other_org, email="b@sendook.localhost")
    raw = build_email(to="a@sendook.localhost, b@sendook.localhost", message_id="<two@example.org>")

    receive(raw, to=["a@sendook.localhost", "b@sendook.localhost"], notification_id="n1")
    receive(raw, to=["a@sendook.localhost", "b@sendook.localhost"], notification_id="n2")
    receive(raw, to=["a@sendook.localhost"], notification_id="n3")

    assert Message.objects.filter(inbox=first).count() == 1
    assert Message.objects.filter(inbox=second).count() == 1
    assert Thread.objects.count() == 2
    assert Event.objects.filter(type="message.received").count() == 2
    assert Message.objects.get(inbox=second).organization == other_org


def test_mail_one_inbox_already_has_still_reaches_the_other_with_its_attachments(
    org, receive, settings
):
    first = InboxFactory(organization=org, email="a@sendook.localhost")
    second = InboxFactory(organization=org, email="b@sendook.localhost")
    pdf = b"%PDF-1.4 the only copy"
    raw = build_email(
        to="b@sendook.localhost, a@sendook.localhost",
        message_id="<already@example.org>",
        attachments=[("report.pdf", "application/pdf", pdf)],
    )
    receive(raw, to=["a@sendook.localhost"], notification_id="n1")

    # b is delivered first, then a trips the duplicate: b must still land, once.
    record = receive(raw, to=["b@sendook.localhost", "a@sendook.localhost"], notification_id="n2")

    assert record.status == InboundEmail.Status.PROCESSED
    assert Message.objects.filter(inbox=first).count() == 1
    message = Message.objects.get(inbox=second)
    [attachment] = message.attachments.all()
    assert attachment.file.read() == pdf
    assert Event.objects.filter(type="message.received").count() == 2
    # No attachment file is left behind by the rolled-back first attempt.
    stored = [f for f in Path(settings.MEDIA_ROOT, "attachments").rglob("*") if f.is_file()]
    assert len(stored) == 2


def test_a_redelivered_notification_stores_nothing_new(inbox, receive):
    raw = build_email()

    first = receive(raw, notification_id="sns-1")
    again = receive(raw, notification_id="sns-1")

    assert again.pk == first.pk
    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == 1


def test_mail_without_message_id_is_still_stored_once_per_record(inbox, receive):
    raw = build_email().replace(b"Message-ID:", b"X-Old-Message-ID:")

    record = receive(raw)
    receive_service.process_inbound_email(record, force=True)

    message = Message.objects.get()
    assert message.message_id == ""


def test_mail_from_a_hosted_inbox_names_it_as_from_inbox(org, receive):
    sender = InboxFactory(organization=org, email="alerts@sendook.localhost")
    InboxFactory(organization=org, email="support@sendook.localhost")

    receive(build_email(sender="Alerts <alerts@sendook.localhost>"))

    assert Message.objects.get().from_inbox == sender


@pytest.mark.parametrize("source", ["ses", "smtp", "anymail:postmark", "cli"])
def test_outside_mail_claiming_a_hosted_sender_is_not_from_that_inbox(org, receive, source):
    # Only Sendook's own copy of a message it sent knows its sender inbox; a From header
    # from outside is whatever its writer put there.
    InboxFactory(organization=org, email="alerts@sendook.localhost")
    InboxFactory(organization=org, email="support@sendook.localhost")

    receive(build_email(sender="Alerts <alerts@sendook.localhost>"), source=source)

    message = Message.objects.get()
    assert message.from_inbox is None and message.from_email == "alerts@sendook.localhost"


def test_provider_spam_and_virus_verdicts_become_fields_and_labels(
    inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receive_raw_email(
            build_email(),
            recipients=[inbox.email],
            source="ses_sns",
            verdicts={"spf": "pass", "spam": "fail", "virus": "fail"},
        )

    message = Message.objects.get()
    assert message.verdicts["spf"] == "pass"
    assert message.verdicts["spam"] == "fail"
    assert {"spam", "virus"} <= set(message.labels)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"", "unparseable", id="empty"),
        pytest.param(
            b"From: a@example.org\r\nTo: support@sendook.localhost\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            + b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(2000))
            + b"--b--\r\n",
            "too_many_parts",
            id="thousands-of-parts",
        ),
        pytest.param(
            b"From: a@example.org\r\nTo: support@sendook.localhost\r\n"
            + b"".join(
                f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
                for i in range(200)
            ),
            "too_deep",
            id="deep-nesting",
        ),
        pytest.param(
            b"".join(f"X-H{i}: v\r\n".encode() for i in range(5000))
            + b"From: a@example.org\r\n\r\nbody",
            "too_many_headers",
            id="header-flood",
        ),
    ],
)
def test_mime_bombs_are_quarantined_with_a_reason_and_their_raw_bytes(inbox, receive, raw, reason):
    record = receive(raw)

    assert record.status == InboundEmail.Status.QUARANTINED
    assert record.quarantine_reason == reason
    assert record.raw.read() == raw
    assert Message.objects.count() == 0


def test_a_quarantined_record_can_be_reprocessed_after_limits_change(
    inbox, receive, settings, django_capture_on_commit_callbacks
):
    settings.SENDOOK_INBOUND_MAX_PARTS = 2
    raw = build_email(html="<p>hi</p>", attachments=[("a.txt", "text/plain", b"a")])
    record = receive(raw)
    assert record.status == InboundEmail.Status.QUARANTINED

    settings.SENDOOK_INBOUND_MAX_PARTS = 500
    with django_capture_on_commit_callbacks(execute=True):
        reprocess_inbound_email(record)

    record.refresh_from_db()
    assert record.status == InboundEmail.Status.PROCESSED
    assert record.attempts == 2
    assert Message.objects.count() == 1


def test_an_unexpected_error_marks_the_record_failed_and_keeps_it(inbox, receive, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("bug in the pipeline")

    monkeypatch.setattr(receive_service, "find_thread", explode)

    record = receive(build_email())

    assert record.status == InboundEmail.Status.FAILED
    assert "bug in the pipeline" in record.error
    assert record.raw.read()
    assert Message.objects.count() == 0 and Thread.objects.count() == 0

    monkeypatch.undo()
    receive_service.process_inbound_email(record)
    assert Message.objects.count() == 1


def test_each_message_is_parsed_once_however_many_inboxes_it_reaches(org, receive, monkeypatch):
    for name in ("a", "b", "c"):
        InboxFactory(organization=org, email=f"{name}@sendook.localhost")
    calls = []
    real_parse = receive_service.parse_email
    monkeypatch.setattr(
        receive_service, "parse_email", lambda *a, **k: calls.append(1) or real_parse(*a, **k)
    )

    receive(build_email(), to=["a@sendook.localhost", "b@sendook.localhost", "c@sendook.localhost"])

    assert len(calls) == 1
    assert Message.objects.count() == 3


def test_nul_bytes_in_hostile_mail_do_not_stop_it_being_stored(inbox, receive):
    raw = (
        b"From: evil\x00@example.org\r\nTo: support@sendook.localhost\r\n"
        b"Subject: nul \x00 here\r\nMessage-ID: <nul\x00@example.org>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody \x00 with nul\r\n"
    )

    record = receive(raw, notification_id="nul\x00id")

    assert record.status == InboundEmail.Status.PROCESSED, record.error
    message = Message.objects.get()
    assert "\x00" not in message.subject + message.text
    assert message.text.startswith("body")


def test_records_left_pending_when_the_broker_was_down_are_picked_up_by_the_sweep(
    inbox, django_capture_on_commit_callbacks, monkeypatch
):
    from messages.tasks import process_inbound_email_task, requeue_stale_inbound

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(process_inbound_email_task, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(build_email(), recipients=[inbox.email], source="smtp")
    record.refresh_from_db()
    assert record.status == InboundEmail.Status.PENDING  # stored, not lost, not parsed
    InboundEmail.objects.filter(pk=record.pk).update(created_at="2020-01-01T00:00:00Z")

    assert requeue_stale_inbound() == 1

    record.refresh_from_db()
    assert record.status == InboundEmail.Status.PROCESSED
    assert Message.objects.count() == 1


def test_authentication_results_forged_by_an_smtp_sender_are_not_believed(inbox, receive):
    forged = {"Authentication-Results": "sendook.localhost; spf=pass; dkim=pass; dmarc=pass"}

    receive(build_email(extra_headers=forged), source="smtp")
    receive(build_email(extra_headers=forged), source="anymail:postmark")

    over_smtp, via_provider = Message.objects.order_by("id")
    # A header inside the message is the sender's words, whatever channel carried it.
    assert _unverified(over_smtp.verdicts)
    assert _unverified(via_provider.verdicts)


def test_mail_over_the_size_limit_is_quarantined_with_its_raw_bytes(inbox, receive, settings):
    settings.SENDOOK_INBOUND_MAX_BYTES = 10_000
    raw = build_email(attachments=[("big.bin", "application/octet-stream", b"x" * 20_000)])

    record = receive(raw)

    assert record.status == InboundEmail.Status.QUARANTINED
    assert record.quarantine_reason == "too_large"
    assert record.raw.read() == raw
    assert Message.objects.count() == 0


def test_huge_subjects_and_message_ids_are_stored_and_still_thread(inbox, receive):
    # Incompressible (PostgreSQL compresses index entries), multi-byte text.
    rng = random.Random(7)
    subject = "".join(rng.choice("ÄÖÜßéèêëабвгдеж一二三四五六七八九 ") for _ in range(8000))
    long_id = "<" + "".join(rng.choice("äöüабвгд一二三") for _ in range(990)) + "@example.org>"

    raw = build_email(subject=subject, message_id="<x@example.org>", sender="ada@example.org")
    receive(raw.replace(b"<x@example.org>", long_id.encode()))  # 8-bit (SMTPUTF8) header
    receive(build_email(subject="Re: " + subject, sender="ada@example.org"))

    first, reply = Message.objects.order_by("id")
    assert len(first.subject) > 7000
    assert first.subject[:300] == " ".join(subject.split())[:300]
    assert reply.thread == first.thread and reply.thread_rule == "subject"
    assert first.message_id.startswith(long_id[:50])


def _unverified(verdicts: dict) -> bool:
    """Sendook's own verdicts for unsigned mail it did not receive over its SMTP listener, and
    nothing a header inside the message claimed (no spam/virus verdict either)."""
    checked = (verdicts["spf"], verdicts["dkim"], verdicts["dmarc"], verdicts["checkedBy"])
    return checked == ("none", "none", "none", "sendook") and not {"spam", "virus"} & set(verdicts)
