"""Fixtures for the trust tests: a real DNS server on loopback that publishes test DKIM keys,
SPF and DMARC records (SENDOOK_DNS_RESOLVER points at it), real RSA keys and real dkimpy
signatures, and the received-mail pipeline as a provider or the SMTP listener drives it."""

from __future__ import annotations

import base64
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxes.tests.dns_server import LoopbackDnsServer, loopback_dns
from inboxes.tests.factories import InboxFactory

DOMAIN = "example.test"
SELECTOR = "sel"


@dataclass
class SigningKey:
    private_pem: bytes
    public_b64: str

    @property
    def dns_record(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_b64}"


def new_key(bits: int = 2048) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(private, base64.b64encode(public).decode())


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return new_key()


def txt(value: str) -> str:
    """A TXT rdata in zone-file text: long values split into 255-byte strings, as publishers do."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


@dataclass
class TrustDns:
    server: LoopbackDnsServer
    key: SigningKey
    published: list[tuple[str, str, str]] = field(default_factory=list)

    def txt(self, name: str, value: str) -> None:
        self.server.add(name, "TXT", txt(value))

    def dkim_key(
        self, domain: str = DOMAIN, selector: str = SELECTOR, key: SigningKey | None = None
    ) -> None:
        self.txt(f"{selector}._domainkey.{domain}", (key or self.key).dns_record)

    def spf(self, domain: str, record: str) -> None:
        self.txt(domain, record)

    def dmarc(self, domain: str, record: str) -> None:
        self.txt(f"_dmarc.{domain}", record)

    def misbehave(self, name: str, how: str) -> None:
        self.server.misbehave(name, how)


@pytest.fixture
def trust_dns(settings, signing_key) -> Iterator[TrustDns]:
    """The loopback DNS server, publishing `sel._domainkey.example.test` (the session's test
    key); SPF/DMARC records are added per test. Lookups are bounded as in production."""
    with loopback_dns() as server:
        settings.SENDOOK_DNS_RESOLVER = server.address
        settings.SENDOOK_DNS_TIMEOUT = 1
        settings.SENDOOK_AUTH_DNS_TIMEOUT = 1
        settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS = 3
        dns = TrustDns(server, signing_key)
        dns.dkim_key()
        yield dns


def sign(
    raw: bytes,
    key: SigningKey,
    *,
    domain: str = DOMAIN,
    selector: str = SELECTOR,
    include_headers: list[bytes] | None = None,
    length: bool = False,
) -> bytes:
    """`raw` with a real DKIM-Signature (dkimpy, relaxed/simple) prepended."""
    header = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        key.private_pem,
        include_headers=include_headers or [b"from", b"to", b"subject", b"date", b"message-id"],
        length=length,
    )
    return header + raw


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost", name="Support")


@pytest.fixture
def receive(django_capture_on_commit_callbacks):
    """receive_raw_email as a way in calls it, running the on-commit parse task; returns the
    stored Message (the first one) and its InboundEmail."""
    from messages.models import Message
    from messages.services.receive import receive_raw_email

    def _receive(
        raw, *, to=("support@sendook.localhost",), source="anymail:postmark", verdicts=None
    ):
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(raw, recipients=list(to), source=source, verdicts=verdicts)
        record.refresh_from_db()
        return Message.objects.filter(inbound_email=record).first(), record

    return _receive


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_send(settings):
    """Sends raw mail through the real aiosmtpd listener (build_controller) over a real
    connection from 127.0.0.1, with the given envelope sender and HELO name."""
    from messages.inbound.smtp import build_controller

    port = free_port()
    controller = build_controller("127.0.0.1", port)
    controller.start()

    def _send(
        raw: bytes,
        *,
        mail_from: str,
        to: str = "support@sendook.localhost",
        helo: str = "mx.example.test",
    ):
        with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=20) as client:
            return client.sendmail(mail_from, [to], raw)

    try:
        yield _send
    finally:
        controller.stop()
