"""INTERIM stand-in for the parsing module being finished on main (same interface).

Replaced wholesale by main's messages/inbound/parsing.py when that lands; kept minimal on
purpose so the receiving pipeline can be built and tested against the agreed interface.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address as _Address
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any


class ParseError(Exception):
    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_headers: int = 1000
    max_header_length: int = 64 * 1024
    max_seconds: float = 10.0


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedEmail:
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    subject: str
    date: datetime | None
    message_id: str
    in_reply_to: str
    references: list[str]
    text: str
    html: str
    extracted_text: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    auto_submitted: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)


_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


def normalize_subject(subject: str) -> str:
    return " ".join(_PREFIX.sub("", subject or "").split()).lower()


def parse_address_list(value: str) -> list[Address]:
    return [Address(addr.lower(), name) for name, addr in getaddresses([value or ""]) if "@" in addr]


def extract_new_text(text: str) -> str:
    lines: list[str] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or (stripped.startswith("On ") and stripped.endswith("wrote:")):
            break
        if stripped in ("--", "-- ") or stripped.startswith("-----Original Message-----"):
            break
        if stripped.startswith("From:") and lines:
            break
        lines.append(line)
    return "\n".join(lines).strip()


def parse_email(raw: bytes, *, limits: ParseLimits | None = None) -> ParsedEmail:
    limits = limits or ParseLimits()
    started = time.monotonic()
    if len(raw) > limits.max_bytes:
        raise ParseError("too_large")
    if not raw.strip():
        raise ParseError("empty")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(msg, EmailMessage):
        raise ParseError("malformed")
    if len(msg.keys()) > limits.max_headers:
        raise ParseError("too_many_headers")
    parts = 0
    text, html = "", ""
    attachments: list[ParsedAttachment] = []

    def walk(part: Any, depth: int) -> None:
        nonlocal parts, text, html
        parts += 1
        if parts > limits.max_parts:
            raise ParseError("too_many_parts")
        if depth > limits.max_depth:
            raise ParseError("too_deep")
        if time.monotonic() - started > limits.max_seconds:
            raise ParseError("timeout")
        if part.is_multipart():
            for sub in part.get_payload():
                walk(sub, depth + 1)
            return
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        cid = (part.get("Content-ID") or "").strip()
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            try:
                content = part.get_content()
            except (LookupError, UnicodeError):
                content = part.get_payload(decode=True).decode("latin-1")
            if ctype == "text/plain" and not text:
                text = content
            elif ctype == "text/html" and not html:
                html = content
            return
        payload = part.get_payload(decode=True) or b""
        attachments.append(
            ParsedAttachment(
                filename=filename or "attachment",
                content_type=ctype,
                content=payload,
                content_id=cid.strip("<>"),
                inline=disposition == "inline" or bool(cid),
            )
        )

    try:
        walk(msg, 0)
        subject = str(msg.get("Subject", "") or "")
        date = None
        if msg.get("Date"):
            try:
                date = parsedate_to_datetime(str(msg["Date"]))
            except (TypeError, ValueError):
                date = None
        from_list = parse_address_list(str(msg.get("From", "") or ""))
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError("malformed", str(exc)) from exc
    message_id_match = _MSGID.search(str(msg.get("Message-ID", "") or ""))
    irt_match = _MSGID.search(str(msg.get("In-Reply-To", "") or ""))
    return ParsedEmail(
        from_=from_list[0] if from_list else None,
        to=parse_address_list(str(msg.get("To", "") or "")),
        cc=parse_address_list(str(msg.get("Cc", "") or "")),
        reply_to=parse_address_list(str(msg.get("Reply-To", "") or "")),
        subject=subject,
        date=date,
        message_id=message_id_match.group(0) if message_id_match else "",
        in_reply_to=irt_match.group(0) if irt_match else "",
        references=_MSGID.findall(str(msg.get("References", "") or "")),
        text=text,
        html=html,
        extracted_text=extract_new_text(text),
        attachments=attachments,
        auto_submitted=str(msg.get("Auto-Submitted", "no")).lower() != "no",
        headers=[(k, str(v)) for k, v in msg.items()],
    )


__all__ = [
    "Address",
    "ParseError",
    "ParseLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "extract_new_text",
    "normalize_subject",
    "parse_address_list",
    "parse_email",
]
_ = _Address
