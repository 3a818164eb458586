"""Headers: encoded words, 8-bit bytes, addresses, dates, Message-IDs, verdicts, auto-replies."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from messages.parsing.charsets import _decode_bytes
from messages.parsing.results import Address

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\r\n]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _fix_8bit(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes; turn them into real text."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        pass
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return _decode_bytes(data, None)


def _unfold(value: str) -> str:
    value = _FOLD.sub("", value)
    return value.replace("\r", " ").replace("\n", " ")


def _strip_controls(value: str) -> str:
    # NUL in particular: PostgreSQL refuses it in text columns.
    return _CONTROL.sub("", value)


def _decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words leniently; anything undecodable is kept as written."""
    if "=?" not in value:
        return _strip_controls(value)
    pieces: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0
    previous_was_word = False

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset is not None:
            pieces.append(_decode_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        position = match.end()
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language tag
        data = _decode_word(match.group(2), match.group(3))
        if not (previous_was_word and not gap.strip()):
            flush()
            pieces.append(gap)
        if data is None:
            flush()
            pieces.append(match.group(0))
            previous_was_word = False
            continue
        # Senders split multi-byte characters across words; decode same-charset runs together.
        if pending_charset is not None and pending_charset != charset:
            flush()
        pending_charset = charset
        pending.extend(data)
        previous_was_word = True
    flush()
    pieces.append(value[position:])
    return _strip_controls("".join(pieces))


def _decode_word(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "Bb":
            compact = re.sub(r"[^A-Za-z0-9+/]", "", text)
            if len(compact) % 4 == 1:
                compact = compact[:-1]
            return base64.b64decode(compact + "=" * (-len(compact) % 4))
        return binascii.a2b_qp(text.encode("utf-8", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None


def parse_address_list(value: str) -> list[Address]:
    """Parse an address header value (raw or decoded); never raises."""
    try:
        return _parse_address_list(value)
    except Exception:  # a helper for untrusted input, documented as total
        return []


_LOOSE_EMAIL = re.compile(r"[^\s<>,;:\"'()\[\]]+@[^\s<>,;:\"'()\[\]]+")


def _parse_address_list(value: str) -> list[Address]:
    if not isinstance(value, str) or not value.strip():
        return []
    value = _strip_controls(_unfold(_fix_8bit(value)))
    try:
        pairs = getaddresses([value])
    except Exception:  # fall back to picking out anything address-shaped
        pairs = [("", found) for found in _LOOSE_EMAIL.findall(value)]
    addresses = []
    for name, email in pairs:
        email = email.strip().strip("<>").strip()
        local, at, domain = email.rpartition("@")
        if not at or not local or not domain or any(ch.isspace() for ch in email):
            continue
        name = _decode_header_value(name).strip().strip('"').strip()
        addresses.append(Address(email=f"{local}@{domain.lower()}", name=name))
    return addresses


def _parse_date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError, AttributeError):
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means UTC with unknown local time.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")


def _message_ids(value: str) -> list[str]:
    found = [f"<{match}>" for match in _MESSAGE_ID.findall(value)]
    if found:
        return found
    # Some clients drop the angle brackets; accept bare id-shaped tokens.
    return [f"<{token.strip('<>')}>" for token in value.split() if "@" in token][:1000]


_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([A-Za-z_]+)", re.IGNORECASE)


def _verdicts(headers: list[tuple[str, str]]) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    # The topmost Authentication-Results is the one our own receiving server added; lower ones
    # may come from the sender and cannot be trusted, so the first answer per method wins.
    for name, value in headers:
        if name.lower() != "authentication-results":
            continue
        results: dict[str, list[str]] = {}
        for method, result in _AUTH_RESULT.findall(value):
            results.setdefault(method.lower(), []).append(result.lower())
        for method, values in results.items():
            if method not in verdicts:
                # Several DKIM signatures: one that verifies is enough.
                verdicts[method] = "pass" if "pass" in values else values[0]
    header_verdicts = {
        "received-spf": "spf",
        "x-ses-spam-verdict": "spam",
        "x-ses-virus-verdict": "virus",
    }
    for name, value in headers:
        key = header_verdicts.get(name.lower())
        words = value.split()
        if key and words and key not in verdicts:
            verdicts[key] = words[0].lower().strip(";")
    return verdicts


def _is_auto_submitted(headers: list[tuple[str, str]], content_type: str) -> bool:
    for name, value in headers:
        key = name.lower()
        word = value.split(";", 1)[0].strip().lower()
        if key == "auto-submitted" and word and word != "no":
            return True
        if key == "precedence" and word in ("bulk", "junk", "auto_reply"):
            return True
        if key in ("x-autoreply", "x-autorespond"):
            return True
        if key == "return-path" and value.strip() == "<>":
            return True
    # Delivery status and read receipts are machine-written by definition.
    return content_type == "multipart/report"
