"""Test doubles for Amazon SNS: a throwaway PKI, real message signing, a loopback cert server.

Nothing here is mocked: messages are signed with real RSA keys and the signing certificate is
served over real TLS, so the code under test runs exactly as in production except that the TCP
connection goes to 127.0.0.1 (`CertificateFetcher(connect_to=...)`) and trusts our CA.

The string-to-sign is built here independently of `messages.inbound.ses.sns`, so a mistake in the
production canonicalisation cannot hide behind the same mistake in the tests.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.server
import ipaddress
import ssl
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SNS_HOST = "sns.us-east-1.amazonaws.com"
CERT_PATH = "/SimpleNotificationService-0000000000000000000000000000test.pem"
CERT_URL = f"https://{SNS_HOST}{CERT_PATH}"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sendook-inbound"


@dataclass(frozen=True)
class SnsTestPki:
    directory: Path
    ca_key: rsa.RSAPrivateKey
    ca_cert: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    leaf_cert: x509.Certificate

    @property
    def ca_bundle(self) -> str:
        return str(self.directory / "ca.pem")

    @property
    def leaf_cert_pem(self) -> bytes:
        return self.leaf_cert.public_bytes(serialization.Encoding.PEM)


def create_test_pki(directory: Path | None = None) -> SnsTestPki:
    """A CA and a leaf for sns.us-east-1.amazonaws.com (also valid for 127.0.0.1).

    The leaf both signs SNS messages and serves TLS, as one key keeps the tests simple.
    """
    directory = Path(directory or tempfile.mkdtemp(prefix="sns-pki-"))
    now = dt.datetime.now(dt.UTC)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sendook test SNS CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SNS_HOST)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(SNS_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pki = SnsTestPki(directory, ca_key, ca_cert, leaf_key, leaf_cert)
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(pki.leaf_cert_pem)
    (directory / "leaf-key.pem").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A key nobody's certificate vouches for: signs messages that must not verify."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --------------------------------------------------------------------------------------------
# Messages


def _string_to_sign(message: dict[str, Any]) -> bytes:
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        keys = [key for key in keys if key != "Subject" or message.get("Subject") is not None]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return b"".join(f"{key}\n{message[key]}\n".encode() for key in keys)


def sign_sns_message(
    message: dict[str, Any],
    *,
    key: rsa.RSAPrivateKey,
    signature_version: str = "1",
    cert_url: str = CERT_URL,
) -> dict[str, Any]:
    """Return a copy of `message` with SignatureVersion, SigningCertURL and Signature set."""
    algorithm: hashes.HashAlgorithm = hashes.SHA1() if signature_version == "1" else hashes.SHA256()
    signed = dict(message, SignatureVersion=signature_version, SigningCertURL=cert_url)
    signature = key.sign(_string_to_sign(signed), padding.PKCS1v15(), algorithm)
    signed["Signature"] = base64.b64encode(signature).decode("ascii")
    return signed


def _timestamp(when: dt.datetime | None) -> str:
    when = when or dt.datetime.now(dt.UTC)
    return (
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    )


def build_notification(
    message: str,
    *,
    topic_arn: str = TOPIC_ARN,
    subject: str | None = None,
    message_id: str | None = None,
    timestamp: dt.datetime | None = None,
) -> dict[str, Any]:
    """An unsigned SNS Notification envelope shaped like SNS's HTTP delivery body."""
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": _timestamp(timestamp),
        "UnsubscribeURL": (
            f"https://{SNS_HOST}/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{uuid.uuid4()}"
        ),
    }
    if subject is not None:
        envelope["Subject"] = subject
    return envelope


def build_subscription_confirmation(
    *,
    topic_arn: str = TOPIC_ARN,
    message_type: str = "SubscriptionConfirmation",
    timestamp: dt.datetime | None = None,
) -> dict[str, Any]:
    token = uuid.uuid4().hex * 4
    return {
        "Type": message_type,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        ),
        "SubscribeURL": (
            f"https://{SNS_HOST}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
        ),
        "Timestamp": _timestamp(timestamp),
    }


# --------------------------------------------------------------------------------------------
# Loopback certificate server


@dataclass
class HitCounter:
    """Counts requests the loopback server answered; thread-safe."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _paths: list[str] = field(default_factory=list)

    def record(self, path: str) -> None:
        with self._lock:
            self._paths.append(path)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._paths)

    @property
    def paths(self) -> list[str]:
        with self._lock:
            return list(self._paths)


class CertificateServer(NamedTuple):
    port: int
    ca_bundle: str
    hits: HitCounter

    @property
    def connect_to(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve_certificate(
    pki: SnsTestPki, *, cert_path: str = CERT_PATH
) -> Iterator[CertificateServer]:
    """Serve the leaf certificate PEM at `cert_path` over HTTPS on 127.0.0.1.

    Yields (port, ca_bundle_path, hit_counter). Other paths answer 404, which lets tests
    exercise a failing fetch against the same server.
    """
    hits = HitCounter()
    pem = pki.leaf_cert_pem

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            hits.record(self.path)
            if self.path == cert_path:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-pem-file")
                self.send_header("Content-Length", str(len(pem)))
                self.end_headers()
                self.wfile.write(pem)
            elif self.path.startswith("/?Action=ConfirmSubscription&"):
                # What SNS answers to a subscription confirmation GET.
                body = b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult/></ConfirmSubscriptionResponse>"
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki.directory / "leaf.pem", pki.directory / "leaf-key.pem")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # Handshake lazily in the handler thread, so one stuck client cannot stall accept().
    server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="sns-cert-server",
        daemon=True,
    )
    thread.start()
    try:
        yield CertificateServer(server.server_address[1], pki.ca_bundle, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
