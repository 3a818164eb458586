"""The SMTP listener (a real aiosmtpd server, a real smtplib client) and the receive_email CLI."""

from __future__ import annotations

import io
import json
import smtplib
import socket
import sys
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inboxes.tests.factories import InboxFactory
from messages.inbound.smtp import build_controller
from messages.models import InboundEmail, Message
from messages.tests.inbound.mail import build_email


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port(settings) -> Iterator[int]:
    settings.SENDOOK_INBOUND_MAX_BYTES = 200_000
    port = free_port()
    controller = build_controller("127.0.0.1", port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.mark.django_db(transaction=True)
def test_mail_sent_over_smtp_reaches_the_inbox_and_unknown_recipients_are_refused(org, smtp_port):
    inbox = InboxFactory(organization=org, email="support@sendook.localhost")
    raw = build_email(subject="Over SMTP", message_id="<smtp1@example.org>")

    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        refused = client.sendmail(
            "ada@example.org", ["Support+urgent@sendook.localhost", "nobody@sendook.localhost"], raw
        )

    assert list(refused) == ["nobody@sendook.localhost"]
    assert refused["nobody@sendook.localhost"][0] == 550
    record = InboundEmail.objects.get()
    assert record.source == "smtp"
    assert record.envelope_recipients == ["Support+urgent@sendook.localhost"]
    # smtplib sends CRLF line endings; the stored bytes are what came over the wire.
    assert record.raw.read().replace(b"\r\n", b"\n").rstrip() == raw.rstrip()
    message = Message.objects.get()
    assert message.inbox == inbox and message.subject == "Over SMTP"
    assert "urgent" in message.labels


@pytest.mark.django_db(transaction=True)
def test_smtp_refuses_a_message_with_only_unknown_recipients(org, smtp_port):
    InboxFactory(organization=org, email="support@sendook.localhost")

    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("ada@example.org", ["ghost@sendook.localhost"], build_email())

    assert InboundEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_smtp_refuses_messages_over_the_size_limit(org, smtp_port):
    InboxFactory(organization=org, email="support@sendook.localhost")
    big = build_email(attachments=[("big.bin", "application/octet-stream", b"x" * 300_000)])

    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as caught:
            client.sendmail("ada@example.org", ["support@sendook.localhost"], big)

    assert caught.value.smtp_code == 552
    assert InboundEmail.objects.count() == 0


# --- CLI ----------------------------------------------------------------------------------------


def run_cli(monkeypatch, raw: bytes, *args: str) -> object:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("receive_email", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_the_cli_prints_the_messages_it_created(org, monkeypatch):
    inbox = InboxFactory(organization=org, email="support@sendook.localhost")
    raw = build_email(subject="From the CLI", to="someone@else.example")

    output = run_cli(monkeypatch, raw, "--to", "support@sendook.localhost")

    assert isinstance(output, list) and len(output) == 1
    assert output[0]["subject"] == "From the CLI"
    assert output[0]["inboxId"] == inbox.public_id
    assert InboundEmail.objects.get().source == "cli"


@pytest.mark.django_db(transaction=True)
def test_the_cli_without_recipients_delivers_to_the_header_recipients(org, monkeypatch):
    InboxFactory(organization=org, email="support@sendook.localhost")

    output = run_cli(monkeypatch, build_email(to="Support <support@sendook.localhost>"))

    assert len(output) == 1


@pytest.mark.django_db(transaction=True)
def test_the_cli_reports_a_quarantine_and_succeeds(org, monkeypatch, settings):
    InboxFactory(organization=org, email="support@sendook.localhost")
    settings.SENDOOK_INBOUND_MAX_PARTS = 1

    output = run_cli(monkeypatch, build_email(html="<p>x</p>"), "--to", "support@sendook.localhost")

    assert output["quarantined"] is True
    assert output["reason"]
    assert InboundEmail.objects.get().raw.read()


@pytest.mark.django_db(transaction=True)
def test_the_cli_fails_only_when_the_raw_bytes_cannot_be_stored(org, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    def broken_save(self, name, content, max_length=None):
        raise OSError("disk full")

    monkeypatch.setattr(FileSystemStorage, "save", broken_save)

    with pytest.raises(CommandError, match="could not store"):
        run_cli(monkeypatch, build_email(), "--to", "support@sendook.localhost")
    assert InboundEmail.objects.count() == 0


def test_the_smtpd_command_listens_until_terminated():
    import subprocess
    import time

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smtpd", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    code, _ = client.ehlo()
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert code == 250
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
