"""Verify Amazon SNS HTTP(S) deliveries: signature, topic, freshness, subscription URLs.

Deliberately free of Django: the webhook view parses the request body into a dict, calls
`verify_sns_message`, and only then hands the envelope to `parse_ses_notification`
(notifications.py). Nothing in an SNS message is trusted before its signature checks out, and
the signing certificate is only ever fetched from an AWS SNS host over verified TLS.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import re
import socket
import ssl
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "CertificateFetcher",
    "SnsVerificationError",
    "canonical_string_to_sign",
    "validate_subscribe_url",
    "verify_sns_message",
]

MESSAGE_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})

# The order is the one AWS documents for the string to sign; it is also alphabetical, which is
# how SNS builds it. Subject is signed only when the publisher set one.
_NOTIFICATION_SIGNED_FIELDS: tuple[str, ...] = (
    "Message",
    "MessageId",
    "Subject",
    "Timestamp",
    "TopicArn",
    "Type",
)
_CONFIRMATION_SIGNED_FIELDS: tuple[str, ...] = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_ENVELOPE_FIELDS: tuple[str, ...] = ("Type", "MessageId", "TopicArn", "Message", "Timestamp")
_SIGNATURE_FIELDS: tuple[str, ...] = ("SignatureVersion", "Signature", "SigningCertURL")

_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,  # SNS's default; still what most topics use.
    "2": hashes.SHA256,  # Opt-in per topic (SignatureVersion attribute).
}

# sns.<region>.amazonaws.com, plus the China partition. Regions are lower-case letters, digits
# and dashes; anything else (extra labels, a look-alike suffix) is not SNS.
_SNS_HOST = re.compile(r"sns\.[a-z0-9]+(?:-[a-z0-9]+)*\.amazonaws\.com(?:\.cn)?")

# Tolerate publisher/receiver clock skew for timestamps from the future, but no more.
_FUTURE_SKEW = timedelta(minutes=5)

# A PEM certificate is a couple of kilobytes; refuse to buffer anything much larger.
_MAX_CERTIFICATE_BYTES = 64 * 1024


class SnsVerificationError(Exception):
    """The message is not a genuine SNS delivery we accept.

    `reason` is a stable snake_case code for logs and metrics; the message is for humans.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# URL checks


def _is_sns_https_url(parts: SplitResult) -> bool:
    if parts.scheme != "https":
        return False
    # Userinfo has no business in an AWS URL and is the classic way to smuggle a second host
    # past a naive prefix check ("https://sns...amazonaws.com@evil.com/").
    if "@" in parts.netloc:
        return False
    try:
        port = parts.port
    except ValueError:  # a non-numeric or out-of-range port
        return False
    if port not in (None, 443):
        return False
    host = parts.hostname or ""
    return _SNS_HOST.fullmatch(host) is not None


def _has_unsafe_characters(url: str) -> bool:
    # Control characters and whitespace are where parsers disagree with each other; a genuine
    # AWS URL never contains them (nor backslashes, which some parsers treat as "/").
    return any(ord(char) <= 0x20 or char in "\\\x7f" for char in url)


def validate_subscribe_url(url: str) -> str:
    """Return `url` if it is safe to GET to confirm a subscription, else raise.

    The SubscribeURL comes from the message body, so even after signature checks we only ever
    contact SNS itself with it: never an arbitrary host an attacker could point us at.
    """
    if not isinstance(url, str) or _has_unsafe_characters(url):
        raise SnsVerificationError("bad_subscribe_url", "SubscribeURL is not a plain URL")
    if not _is_sns_https_url(urlsplit(url)):
        raise SnsVerificationError("bad_subscribe_url", "SubscribeURL is not an https SNS URL")
    return url


# --------------------------------------------------------------------------------------------
# Certificate fetching


class _DialingHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS connection whose TCP socket may go to a different address than the URL host.

    TLS SNI, certificate hostname verification and the Host header all still use the URL host,
    so pointing `dial` at a loopback test server exercises the exact production TLS path.
    """

    def __init__(
        self,
        host: str,
        *,
        dial: tuple[str, int],
        tls_context: ssl.SSLContext,
        timeout: float,
    ) -> None:
        super().__init__(host, 443, timeout=timeout, context=tls_context)
        self._dial = dial
        self._tls_context = tls_context

    def connect(self) -> None:
        raw = socket.create_connection(self._dial, self.timeout)
        try:
            self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class CertificateFetcher:
    """Fetches SNS signing certificates over verified HTTPS and caches them in-process.

    SNS signs every message with one of a handful of long-lived certificates, so one fetch per
    URL per process is enough; keep a single instance per process to share the cache.
    """

    def __init__(
        self,
        *,
        connect_to: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 5.0,
        max_cached: int = 50,
    ) -> None:
        self._dial = _parse_host_port(connect_to) if connect_to else None
        # ca_bundle=None means the system trust store; tests pass their throwaway CA.
        self._tls_context = ssl.create_default_context(cafile=ca_bundle)
        self._timeout = timeout
        self._max_cached = max_cached
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        # One lock per URL being fetched: concurrent first requests wait for one download
        # instead of each making their own, and a slow URL does not block the others.
        self._inflight: dict[str, threading.Lock] = {}

    def validate_url(self, url: str) -> None:
        if not isinstance(url, str) or _has_unsafe_characters(url):
            raise SnsVerificationError("bad_certificate_url", "SigningCertURL is not a plain URL")
        parts = urlsplit(url)
        if not _is_sns_https_url(parts):
            raise SnsVerificationError(
                "bad_certificate_url", "SigningCertURL is not an https URL on an SNS host"
            )
        if not parts.path.endswith(".pem") or parts.query or parts.fragment:
            raise SnsVerificationError(
                "bad_certificate_url", "SigningCertURL does not name a .pem file"
            )

    def fetch(self, url: str) -> x509.Certificate:
        self.validate_url(url)
        with self._lock:
            cached = self._get_cached(url)
            if cached is not None:
                return cached
            url_lock = self._inflight.setdefault(url, threading.Lock())
        try:
            with url_lock:
                with self._lock:
                    cached = self._get_cached(url)
                if cached is not None:
                    return cached
                certificate = self._download(url)
                with self._lock:
                    self._cache[url] = certificate
                    while len(self._cache) > self._max_cached:
                        self._cache.popitem(last=False)
                return certificate
        finally:
            with self._lock:
                if self._inflight.get(url) is url_lock:
                    del self._inflight[url]

    def connection(self, host: str) -> http.client.HTTPSConnection:
        """An HTTPS connection to an SNS host with this fetcher's trust store and dialing, for
        the subscription confirmation GET (the caller validates the URL first)."""
        return _DialingHTTPSConnection(
            host,
            dial=self._dial or (host, 443),
            tls_context=self._tls_context,
            timeout=self._timeout,
        )

    def _get_cached(self, url: str) -> x509.Certificate | None:
        # Caller holds self._lock.
        certificate = self._cache.get(url)
        if certificate is not None:
            self._cache.move_to_end(url)
        return certificate

    def _download(self, url: str) -> x509.Certificate:
        parts = urlsplit(url)
        host = parts.hostname or ""
        connection = _DialingHTTPSConnection(
            host,
            dial=self._dial or (host, 443),
            tls_context=self._tls_context,
            timeout=self._timeout,
        )
        try:
            connection.request("GET", parts.path, headers={"Accept": "*/*"})
            response = connection.getresponse()
            # Redirects are not followed: the certificate must come from the SNS host itself.
            if response.status != 200:
                raise SnsVerificationError(
                    "certificate_fetch_failed", f"certificate URL answered HTTP {response.status}"
                )
            body = response.read(_MAX_CERTIFICATE_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:  # includes ssl.SSLError, timeouts
            raise SnsVerificationError(
                "certificate_fetch_failed", f"could not fetch signing certificate: {exc}"
            ) from exc
        finally:
            connection.close()
        if len(body) > _MAX_CERTIFICATE_BYTES:
            raise SnsVerificationError("certificate_fetch_failed", "certificate is too large")
        try:
            return x509.load_pem_x509_certificate(body)
        except ValueError as exc:
            raise SnsVerificationError(
                "certificate_fetch_failed", "certificate URL did not return a PEM certificate"
            ) from exc


def _parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"connect_to must look like 'host:port', not {value!r}")
    return host.strip("[]"), int(port)


# --------------------------------------------------------------------------------------------
# Message verification


def canonical_string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signed, per the "Verifying the signatures of Amazon SNS messages" guide."""
    if message.get("Type") == "Notification":
        names = _NOTIFICATION_SIGNED_FIELDS
    else:
        names = _CONFIRMATION_SIGNED_FIELDS
    lines: list[str] = []
    for name in names:
        value = message.get(name)
        if value is None:  # only Subject may be absent; the caller checked the rest
            continue
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode("utf-8")


def verify_sns_message(
    message: dict[str, Any],
    *,
    fetcher: CertificateFetcher,
    allowed_topic_arns: Collection[str],
    max_age_seconds: int | None = 3600,
) -> None:
    """Raise SnsVerificationError unless `message` is a genuine, fresh SNS delivery for us.

    Cheap checks run first, and the topic is checked before any network access, so a flood of
    forged messages cannot make us fetch anything.
    """
    if not isinstance(message, dict):
        raise SnsVerificationError("malformed_message", "SNS message is not a JSON object")

    message_type = _require_string(message, "Type")
    if message_type not in MESSAGE_TYPES:
        raise SnsVerificationError("bad_type", f"unsupported SNS message type {message_type!r}")

    required = _ENVELOPE_FIELDS + _SIGNATURE_FIELDS
    if message_type != "Notification":
        required += ("SubscribeURL", "Token")
    for name in required:
        _require_string(message, name)
    # SNS omits Subject when the publisher gave none; some serialisers write null instead.
    subject = message.get("Subject")
    if subject is not None and not isinstance(subject, str):
        raise SnsVerificationError("invalid_field", "Subject must be a string")

    if message["TopicArn"] not in allowed_topic_arns:
        raise SnsVerificationError("unknown_topic", f"topic {message['TopicArn']!r} not allowed")

    hash_type = _SIGNATURE_HASHES.get(message["SignatureVersion"])
    if hash_type is None:
        raise SnsVerificationError(
            "bad_signature_version",
            f"unsupported SignatureVersion {message['SignatureVersion']!r}",
        )

    if max_age_seconds is not None:
        _check_freshness(message["Timestamp"], max_age_seconds=max_age_seconds)

    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsVerificationError("bad_signature", "Signature is not base64") from exc

    certificate = fetcher.fetch(message["SigningCertURL"])
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SnsVerificationError("bad_certificate", "signing certificate is not an RSA key")
    try:
        public_key.verify(
            signature, canonical_string_to_sign(message), padding.PKCS1v15(), hash_type()
        )
    except InvalidSignature as exc:
        raise SnsVerificationError("bad_signature", "SNS signature does not verify") from exc


def _require_string(message: Mapping[str, Any], name: str) -> str:
    if name not in message or message[name] is None:
        raise SnsVerificationError("missing_field", f"SNS message has no {name}")
    value = message[name]
    if not isinstance(value, str):
        raise SnsVerificationError("invalid_field", f"SNS message field {name} is not a string")
    return value


def _check_freshness(timestamp: str, *, max_age_seconds: int) -> None:
    try:
        sent_at = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise SnsVerificationError("bad_timestamp", f"unparseable Timestamp {timestamp!r}") from exc
    if sent_at.tzinfo is None:
        raise SnsVerificationError("bad_timestamp", "Timestamp has no time zone")
    now = datetime.now(UTC)
    # A captured genuine message stays validly signed forever; the age limit bounds replays.
    if now - sent_at > timedelta(seconds=max_age_seconds):
        raise SnsVerificationError("stale", f"message sent at {timestamp} is too old")
    if sent_at - now > _FUTURE_SKEW:
        raise SnsVerificationError("bad_timestamp", f"Timestamp {timestamp} is in the future")
