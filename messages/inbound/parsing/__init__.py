"""Hardened parsing of inbound raw email.

Pure Python and free of Django, so the receiving worker, the benchmarks and the tests can all use
it. Hostile or broken input must never crash the caller: every failure surfaces as ParseError
with a stable reason, so the message can be quarantined with its raw bytes kept.

The standard library parser does the MIME work. Around it we add what it does not give us:
cheap limit checks on the raw bytes before parsing (its cost grows badly with the number of
parts and the nesting depth), charset fallbacks that never lose text, and plain data classes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import heapq
import html as html_lib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from io import BytesIO
from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "Address",
    "ParseError",
    "ParseLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "extract_new_text",
    "html_to_text",
    "parse_address_list",
    "parse_email",
]


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_headers: int = 1000
    max_header_length: int = 64 * 1024
    max_seconds: float = 10.0


DEFAULT_LIMITS = ParseLimits()


class ParseError(Exception):
    """The message cannot be parsed within our limits; `reason` is stable snake_case."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Address:
    email: str
    name: str = ""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class ParsedEmail:
    from_: Address | None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    extracted_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    auto_submitted: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Entry point


def parse_email(raw: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedEmail:
    """Parse raw RFC 5322 bytes; raises only ParseError."""
    try:
        return _parse(raw, limits)
    except ParseError:
        raise
    except RecursionError as exc:
        raise ParseError("too_deep", "The message is nested too deeply to parse") from exc
    except MemoryError as exc:
        raise ParseError("too_large", "The message needs too much memory to parse") from exc
    except Exception as exc:
        # This function is the boundary between untrusted bytes and the rest of Sendook: any
        # surprise in the standard library must become a quarantine reason, not a crash.
        raise ParseError(
            "unparseable", f"The message could not be parsed ({type(exc).__name__})"
        ) from exc


class _Budget:
    """Wall-clock budget checked at checkpoints; the parser itself cannot be interrupted."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise ParseError(
                "timeout", f"Parsing took longer than {self.limits.max_seconds:g} seconds"
            )


def _parse(raw: bytes, limits: ParseLimits) -> ParsedEmail:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ParseError("unparseable", "The message must be bytes")
    raw = bytes(raw)
    if len(raw) > limits.max_bytes:
        raise ParseError(
            "too_large", f"The message is {len(raw)} bytes; the limit is {limits.max_bytes}"
        )
    if not raw.strip():
        raise ParseError("unparseable", "The message is empty")
    budget = _Budget(limits)
    _check_line_count(raw, limits)
    _check_parameter_continuations(raw, limits)
    _check_top_headers(raw, limits)
    budget.check()
    _check_structure(raw, limits, budget)
    budget.check()
    message = _parse_bytes(raw)
    budget.check()
    return _build(message, limits, budget)


def _parse_bytes(raw: bytes) -> Message:
    try:
        return BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:
        # The modern header parser has had bugs on odd header shapes (and recurses on nested
        # comments); the legacy policy only splits strings, so it is the fallback that still
        # gets the text out.
        fallback = policy.compat32
    try:
        return BytesParser(policy=fallback).parsebytes(raw)
    except RecursionError as exc:
        raise ParseError("too_deep", "The message is nested too deeply to parse") from exc
    except Exception as exc:
        raise ParseError(
            "unparseable", f"The message could not be parsed ({type(exc).__name__})"
        ) from exc


# --------------------------------------------------------------------------------------------
# Cheap checks on the raw bytes, before the expensive parse

# Mirrors the standard library's idea of a header line, so we measure the block it parses.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:")
_LOGICAL_LINE_START = re.compile(rb"\n(?![ \t])")
_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_ANY_DELIMITER_LINE = re.compile(rb"\n--([^\r\n]{1,200})")
# Above this many distinct boundaries a delimiter regex of alternatives gets slow to match.
_MAX_BOUNDARY_ALTERNATIVES = 64


# The standard library walks multipart bodies line by line in Python, at a few microseconds a
# line, and cannot be interrupted. Real mail stays far below this rate times the budget (25 MiB
# of base64 is about 350,000 lines); floods of tiny lines are refused before parsing instead
# of overshooting the budget.
_LINES_PER_SECOND = 500_000


# RFC 2231 parameter continuations (`filename*0*=…; filename*1*=…`): the standard library
# reassembles them in quadratic time without any checkpoint (found by reliability/mime_bombs.py:
# 100,000 segments held a worker for minutes). Real mail uses a handful per parameter.
_PARAMETER_SEGMENT = re.compile(rb";\s*[!#$%&'+.0-9A-Z^_`a-z|~-]+\*\d+\*?\s*=")


def _check_parameter_continuations(raw: bytes, limits: ParseLimits) -> None:
    allowed = limits.max_headers
    for count, _ in enumerate(_PARAMETER_SEGMENT.finditer(raw), start=1):
        if count > allowed:
            raise ParseError(
                "too_many_headers",
                f"The message has more than {allowed} MIME parameter continuations",
            )


def _check_line_count(raw: bytes, limits: ParseLimits) -> None:
    if raw.count(b"\n") > limits.max_seconds * _LINES_PER_SECOND:
        raise ParseError(
            "timeout",
            f"The message has too many lines to parse within {limits.max_seconds:g} seconds",
        )


def _check_top_headers(raw: bytes, limits: ParseLimits) -> None:
    # Jump from one logical line to the next (continuations are skipped inside the regex), so
    # the Python loop runs at most max_headers times whatever the bytes are.
    if not _HEADER_LINE.match(raw):
        return
    count = 0
    start = 0
    for match in _LOGICAL_LINE_START.finditer(raw):
        _check_header_size(match.start() - start, count := count + 1, limits)
        start = match.end()
        if not _HEADER_LINE.match(raw, start):
            return  # the blank line (or the first body line) ends the header block
    _check_header_size(len(raw) - start, count + 1, limits)


def _check_header_size(length: int, count: int, limits: ParseLimits) -> None:
    if count > limits.max_headers:
        raise ParseError(
            "too_many_headers", f"The message has more than {limits.max_headers} headers"
        )
    if length > limits.max_header_length:
        raise ParseError(
            "header_too_long",
            f"A header is {length} bytes long; the limit is {limits.max_header_length}",
        )


def _check_structure(raw: bytes, limits: ParseLimits, budget: _Budget) -> None:
    """Estimate part count and multipart depth from boundary lines, without parsing.

    The standard library needs seconds for a few thousand parts and recurses once per level,
    so bombs must be refused before it sees them. We replay boundary declarations and
    delimiter lines in order with a stack, which is what the parser would do, give or take
    boundaries quoted inside text parts (harmless: they only make the estimate larger).
    """
    if b"\n--" not in raw:
        return
    # Each declaration or delimiter line is at least one part; far more than the part limit
    # means a bomb, and stopping there bounds the Python loops below.
    max_events = 4 * limits.max_parts + 100
    declarations: list[tuple[int, int, bytes]] = []
    for match in _BOUNDARY_PARAM.finditer(raw.lower()):
        group = 1 if match.group(1) else 2
        declarations.append((match.start(), 0, raw[match.start(group) : match.end(group)]))
        if len(declarations) > max_events:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
    declared_anywhere = {token for _, _, token in declarations}
    if not declared_anywhere:
        return
    budget.check()
    if len(declared_anywhere) <= _MAX_BOUNDARY_ALTERNATIVES:
        # Let the regex engine skip lines that merely start with "--" (signatures, SQL).
        alternatives = b"|".join(
            re.escape(token) for token in sorted(declared_anywhere, key=len, reverse=True)
        )
        pattern = re.compile(rb"\n--((?:" + alternatives + rb")(?:--)?)[ \t]*(?=\r?\n|\r?\Z)")
    else:
        pattern = _ANY_DELIMITER_LINE
    delimiters = ((m.start(), 1, m.group(1).rstrip(b" \t")) for m in pattern.finditer(raw))

    declared: set[bytes] = set()
    stack: list[bytes] = []
    parts = 1
    for index, (_, kind, token) in enumerate(heapq.merge(declarations, delimiters)):
        if index % 1024 == 0:
            budget.check()
        if index > 2 * max_events:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
        if kind == 0:
            declared.add(token)
            continue
        if token in declared:
            if token in stack:
                del stack[stack.index(token) + 1 :]
            else:
                stack.append(token)
            parts += 1
        elif token.endswith(b"--") and token[:-2] in declared:
            closing = token[:-2]
            if closing in stack:
                del stack[stack.index(closing) :]
            continue
        else:
            continue
        # Depth first: a deep bomb also has many parts, and depth is the better explanation.
        if len(stack) > limits.max_depth:
            raise ParseError("too_deep", f"The message nests deeper than {limits.max_depth} levels")
        if parts > limits.max_parts:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )


# --------------------------------------------------------------------------------------------
# Walking the parsed tree

_SERIALIZE_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")


def _build(message: Message, limits: ParseLimits, budget: _Budget) -> ParsedEmail:
    raw_headers = _raw_headers(message)
    first = _first_header_getter(raw_headers)

    text: str | None = None
    html: str | None = None
    found: list[tuple[ParsedAttachment, str | None]] = []
    count = 0
    # Iterative walk: recursion is what hostile nesting attacks.
    stack: list[tuple[Message, int, bool]] = [(message, 0, False)]
    while stack:
        part, depth, embedded = stack.pop()
        count += 1
        if count > limits.max_parts:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
        if depth > limits.max_depth:
            raise ParseError("too_deep", f"The message nests deeper than {limits.max_depth} levels")
        budget.check()
        if part is not message:
            _check_part_headers(part, limits)

        content_type = _content_type(part)
        payload = _stored_payload(part)
        if isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            is_attached_message = part is not message and content_type.startswith("message/")
            if is_attached_message and not embedded:
                found.append((_message_attachment(part, content_type), _disposition(part)))
            # Parts inside an attached message belong to it, but still count towards limits.
            child_embedded = embedded or is_attached_message
            stack.extend((child, depth + 1, child_embedded) for child in reversed(children))
            continue
        if embedded:
            continue
        if content_type.startswith("multipart/"):
            # A multipart without a usable boundary arrives as one string; keep it as text.
            content_type = "text/plain"

        disposition = _disposition(part)
        filename = _filename(part)
        is_body = (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        )
        if is_body and content_type == "text/plain" and text is None:
            text = _clean_text(_decode_bytes(_payload_bytes(part), _param(part, "charset")))
            continue
        if is_body and content_type == "text/html" and html is None:
            html = _clean_text(_decode_bytes(_payload_bytes(part), _param(part, "charset")))
            continue
        attachment = ParsedAttachment(
            filename=filename,
            content_type=content_type,
            content=_payload_bytes(part),
            content_id=_content_id(part),
        )
        found.append((attachment, disposition))

    budget.check()
    html = html or ""
    if not (text or "").strip() and html:
        text = html_to_text(html)
        budget.check()
    text = text or ""

    attachments = []
    lowered_html = html.lower()
    for index, (attachment, disposition) in enumerate(found, start=1):
        if not attachment.filename:
            attachment.filename = _generated_filename(attachment.content_type, index)
        if attachment.content_id:
            referenced = f"cid:{attachment.content_id.lower()}" in lowered_html
            attachment.inline = disposition != "attachment" or referenced
        attachments.append(attachment)

    message_ids = _message_ids(first("message-id"))
    in_reply_to = _message_ids(first("in-reply-to"))
    senders = parse_address_list(first("from"))
    return ParsedEmail(
        from_=senders[0] if senders else None,
        to=parse_address_list(_joined(raw_headers, "to")),
        cc=parse_address_list(_joined(raw_headers, "cc")),
        reply_to=parse_address_list(_joined(raw_headers, "reply-to")),
        subject=_decode_header_value(first("subject")).strip(),
        date=_parse_date(first("date")),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=list(dict.fromkeys(_message_ids(_joined(raw_headers, "references")))),
        text=text,
        html=html,
        extracted_text=extract_new_text(text),
        attachments=attachments,
        verdicts=_verdicts(raw_headers),
        auto_submitted=_is_auto_submitted(raw_headers, _content_type(message)),
        headers=[(name, _decode_header_value(value)) for name, value in raw_headers],
    )


def _check_part_headers(part: Message, limits: ParseLimits) -> None:
    items = part.raw_items()
    headers = list(items)
    if len(headers) > limits.max_headers:
        raise ParseError("too_many_headers", f"A part has more than {limits.max_headers} headers")
    for name, value in headers:
        if len(name) + len(str(value)) + 2 > limits.max_header_length:
            raise ParseError(
                "header_too_long", f"A header is longer than {limits.max_header_length} bytes"
            )


def _raw_headers(part: Message) -> list[tuple[str, str]]:
    """Headers unfolded, with 8-bit bytes decoded, but encoded words left alone."""
    headers = []
    for name, value in part.raw_items():
        headers.append((_strip_controls(str(name)).strip(), _unfold(_fix_8bit(str(value)))))
    return headers


def _first_header_getter(headers: list[tuple[str, str]]) -> Callable[[str], str]:
    index: dict[str, str] = {}
    for name, value in headers:
        index.setdefault(name.lower(), value)

    def first(name: str) -> str:
        return index.get(name, "")

    return first


def _joined(headers: list[tuple[str, str]], name: str) -> str:
    # Repeated To/Cc headers break RFC 5322 but happen; keep every address.
    return ", ".join(value for key, value in headers if key.lower() == name)


def _header(part: Message, name: str) -> str:
    for key, value in part.raw_items():
        if str(key).lower() == name:
            return _unfold(_fix_8bit(str(value)))
    return ""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # the header parser's bugs must not lose the part
        value = _header(part, "content-type").split(";", 1)[0].strip().lower()
        return value if value.count("/") == 1 else "text/plain"


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    try:
        value = part.get_param(name, header=header)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, tuple):
        value = collapse_rfc2231_value(value)
    return _decode_header_value(_fix_8bit(str(value))).strip() or None


def _disposition(part: Message) -> str | None:
    value = _header(part, "content-disposition").split(";", 1)[0].strip().lower()
    if not value:
        return None
    # RFC 2183: treat an unknown disposition as an attachment.
    return value if value == "inline" else "attachment"


def _filename(part: Message) -> str:
    name = _param(part, "filename", "content-disposition") or _param(part, "name") or ""
    return _safe_filename(name)


def _content_id(part: Message) -> str | None:
    value = _header(part, "content-id").strip()
    value = value.strip("<>").strip() if value else ""
    return _strip_controls(value)[:998] or None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encodings fall back to the raw text
        data = None
    if isinstance(data, bytes):
        return data
    payload = _stored_payload(part)
    return _encode_lossless(payload) if isinstance(payload, str) else b""


def _stored_payload(part: Message) -> Any:
    """The payload as parsed: a list of parts or the undecoded body text.

    `get_payload()` without decoding re-decodes 8-bit text by the declared charset, replacing
    bytes and raising on some hostile labels; the stored value keeps every byte.
    """
    return getattr(part, "_payload", None)


def _message_attachment(part: Message, content_type: str) -> ParsedAttachment:
    """An attached message (forward, bounce report) kept as bytes, like an .eml file."""
    payload = _stored_payload(part)
    children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
    chunks = [_serialize(child) for child in children]
    content = (
        b"\r\n".join(chunks) if content_type == "message/delivery-status" else b"".join(chunks)
    )
    filename = _filename(part)
    if not filename and content_type in ("message/rfc822", "message/global") and children:
        subject = _decode_header_value(_header(children[0], "subject")).strip()
        filename = _safe_filename(f"{subject[:100]}.eml") if subject else ""
    return ParsedAttachment(
        filename=filename,
        content_type=content_type,
        content=content,
        content_id=_content_id(part),
    )


def _serialize(message: Message) -> bytes:
    buffer = BytesIO()
    generator: BytesGenerator[Any]
    try:
        generator = BytesGenerator(buffer, mangle_from_=False, policy=_SERIALIZE_POLICY)
        generator.flatten(message)
    except Exception:
        # Re-serializing can trip over what parsing tolerated; the legacy path is cruder
        # but keeps the bytes.
        buffer = BytesIO()
        generator = BytesGenerator(buffer, mangle_from_=False, policy=policy.compat32)
        try:
            generator.flatten(message)
        except Exception:
            return _serialize_plainly(message)
    return buffer.getvalue()


def _serialize_plainly(message: Message) -> bytes:
    """Last resort when both generators refuse: headers and body text as they were parsed."""
    head = "".join(f"{name}: {value}\r\n" for name, value in message.raw_items())
    payload = _stored_payload(message)
    if isinstance(payload, list):
        body = b"\r\n".join(_serialize(child) for child in payload if isinstance(child, Message))
    else:
        body = _encode_lossless(payload) if isinstance(payload, str) else b""
    return _encode_lossless(head) + b"\r\n" + body


def _encode_lossless(value: str) -> bytes:
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


_EXTENSIONS = {
    "application/ics": ".ics",
    "application/msword": ".doc",
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/pkcs7-signature": ".p7s",
    "application/zip": ".zip",
    "image/gif": ".gif",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/webp": ".webp",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/global": ".eml",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/rfc822-headers": ".txt",
}


def _generated_filename(content_type: str, index: int) -> str:
    # A fixed table rather than the mimetypes module, whose answers depend on the host's files.
    extension = _EXTENSIONS.get(content_type, ".txt" if content_type.startswith("text/") else "")
    stem = _STEMS.get(content_type) or _STEMS.get(content_type.split("/")[0], "attachment")
    return f"{stem}-{index}{extension or '.bin'}"


_STEMS = {
    "image": "image",
    "message": "message",
    "message/delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "text/calendar": "invite",
    "text/rfc822-headers": "headers",
}


def _safe_filename(name: str) -> str:
    # Never let a filename carry a path, control characters or bidi tricks ("gnp.exe").
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        return ""
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = f"{stem[: 254 - len(extension)]}.{extension}"
        else:
            name = name[:255]
    return name


# --------------------------------------------------------------------------------------------
# Headers: encoded words, 8-bit bytes, addresses, dates, ids

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


# --------------------------------------------------------------------------------------------
# Charsets

# Labels that senders use for a superset, or that Python spells differently.
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso8859-8",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "cp-850": "cp850",
}
_SUPERSETS = {
    "iso8859-1": ("cp1252",),
    "ascii": ("cp1252",),
    "shift_jis": ("cp932",),
    "euc_jp": ("euc_jis_2004",),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2"),
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "euc_kr": ("cp949",),
    "big5": ("big5hkscs",),
    "iso8859-9": ("cp1254",),
    "tis-620": ("cp874",),
}
# Labels that are very often wrong in practice: text labelled with them is frequently UTF-8.
_OFTEN_MISLABELLED = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}
# Text codecs that would interpret content rather than decode it.
_UNSAFE_CODECS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}


def _lookup_codec(charset: str | None) -> str | None:
    if not charset:
        return None
    label = charset.strip().strip("\"'").split("*", 1)[0].lower()
    if not label or len(label) > 40:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE_CODECS:
        return None
    return info.name


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, then its supersets, then UTF-8 and Windows-1252; never loses text."""
    codec = _lookup_codec(charset)
    if codec is None or codec in ("ascii", "utf-8"):
        # No trustworthy label: UTF-8 where the bytes are UTF-8, Windows-1252 for stray bytes
        # (headers and bodies mixing both are common from old gateways).
        return data.decode("utf-8", _MIXED_FALLBACK)
    candidates = [codec, *_SUPERSETS.get(codec, ()), "utf-8"]
    if codec in _OFTEN_MISLABELLED and not data.isascii():
        candidates.insert(0, "utf-8")
    for candidate in dict.fromkeys(candidates):
        try:
            return data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
    if codec in _OFTEN_MISLABELLED:
        return data.decode("utf-8", _MIXED_FALLBACK)
    # A real legacy charset with a few bad bytes: trust it rather than guess another.
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return data.decode("utf-8", _MIXED_FALLBACK)


def _windows_1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # the five bytes Windows-1252 leaves undefined: read them as Latin-1


_WINDOWS_1252 = [_windows_1252_char(byte) for byte in range(256)]
_MIXED_FALLBACK = "sendook.windows-1252-fallback"


def _windows_1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(_WINDOWS_1252[byte] for byte in chunk), error.end


codecs.register_error(_MIXED_FALLBACK, _windows_1252_fallback)


def _clean_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return value.lstrip("\ufeff")


# --------------------------------------------------------------------------------------------
# HTML to text

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_SKIPPED_TAGS = {"head", "script", "style", "template", "title", "noscript"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._depth_at_start = 0
        self._quote_depth = 0
        self._skipping = 0

    def _break(self, *, hard: bool = False) -> None:
        if self._current or hard:
            depth = self._depth_at_start if self._current else self._quote_depth
            self.lines.append((depth, "".join(self._current).strip()))
        self._current = []

    def _paragraph(self) -> None:
        self._break()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self._quote_depth, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self._break(hard=True)
        elif tag == "p":
            self._paragraph()
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "li":
                self._current.append("- ")
                self._depth_at_start = self._quote_depth

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break(hard=True)
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "p":
            self._paragraph()
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if not self._current:
            text = text.lstrip()
            if not text:
                return
            self._depth_at_start = self._quote_depth
        self._current.append(text)

    def text(self) -> str:
        self._break()
        output: list[str] = []
        for depth, line in self.lines:
            if not line and (not output or not output[-1].strip("> ")):
                continue  # collapse runs of blank lines
            # Blockquotes become "> " lines so reply extraction treats them as quoted history.
            output.append(("> " * depth + line).rstrip() if depth else line)
        return "\n".join(output).strip()


# HTMLParser costs roughly 15 µs per tag; past this many tags the crude stripper keeps the
# parse inside its time budget.
_MAX_PARSED_TAGS = 50_000
_CRUDE_BREAK = re.compile(r"<(?:br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^<>]*>", re.IGNORECASE)
_CRUDE_TAG = re.compile(r"<[^<>]*>")  # [^<>] keeps an unclosed "<" from going quadratic


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of an HTML body, for mail that has no text part."""
    if html.count("<") > _MAX_PARSED_TAGS:
        return _crude_html_to_text(html)
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser on hostile input: the crude path still gets the words
        return _crude_html_to_text(html)
    return extractor.text()


def _crude_html_to_text(html: str) -> str:
    stripped = _CRUDE_TAG.sub("", _CRUDE_BREAK.sub("\n", html))
    lines = (" ".join(line.split()) for line in html_lib.unescape(stripped).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------------------------
# Reply extraction

# Attribution lines, allowed to wrap once (Gmail wraps long names and addresses).
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?=[^\n]*\d)(?:"  # clients always put a date in the first line
    r"On\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bwrote\s*:"
    r"|Le\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\ba\s+écrit\s*:"
    r"|Am\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bschrieb\b[^\n]{0,300}?:"
    r"|El\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bescribió\s*:"
    r"|Op\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bschreef\b[^\n]{0,300}?:"
    r")[ \t]*$",
    re.MULTILINE,
)
# Separators before older messages, replied-to or forwarded (Outlook, Gmail, Thunderbird,
# Apple Mail and their translations).
_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Original Message|Forwarded message|Ursprüngliche Nachricht"
    r"|Weitergeleitete Nachricht|Message d'origine|Message transféré|Mensaje original"
    r"|Mensaje reenviado|Oorspronkelijk bericht|Doorgestuurd bericht)[ \t]*-{2,}"
    r"|Begin forwarded message:)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
# Outlook's header block: "From:" then "Sent:" (or a translation) within the next lines.
_OUTLOOK_HEADER = re.compile(
    r"^[ \t]*\*?(?:From|De|Von|Van|Da)[ \t]*:\*?[ \t]*\S[^\n]*\n"
    r"(?:[^\n]*\n){0,2}?"
    r"[ \t]*\*?(?:Sent|Date|Envoyé|Gesendet|Verzonden|Enviado|Inviato)[ \t]*:",
    re.MULTILINE | re.IGNORECASE,
)
_UNDERSCORE_RULE = re.compile(r"\n[ \t]*_{10,}[ \t]*\n?$")
_MOBILE_SIGNATURE = re.compile(
    r"\n\s*(?:Sent from my [^\n]{1,40}|Get Outlook for (?:iOS|Android)[^\n]{0,20})\s*$",
    re.IGNORECASE,
)


def extract_new_text(text: str) -> str:
    """The newly written part of a reply: quoted history and the signature removed."""
    if not isinstance(text, str):
        return ""
    original = text.replace("\r\n", "\n").replace("\r", "\n")
    body = original

    # Attribution lines followed by "> " quotes are removed alone, so text written below a
    # quote (bottom-posting, inline replies) survives; otherwise everything after them is
    # history.
    position = 0
    while (match := _ATTRIBUTION.search(body, position)) is not None:
        following = body[match.end() :].lstrip("\n")
        if following.startswith(">"):
            body = body[: match.start()] + body[match.end() :]
            position = match.start()
        else:
            body = body[: match.start()]
            break

    for pattern in (_ORIGINAL_MESSAGE, _OUTLOOK_HEADER):
        match = pattern.search(body)
        if match:
            body = body[: match.start()]
    body = _UNDERSCORE_RULE.sub("\n", body)

    lines = [line for line in body.split("\n") if not line.lstrip(" ").startswith(">")]
    signature_lines = [i for i, line in enumerate(lines) if line.rstrip() == "--"]
    if signature_lines:
        lines = lines[: signature_lines[-1]]
    body = "\n".join(lines)
    body = _MOBILE_SIGNATURE.sub("", "\n" + body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return body or original.strip()
