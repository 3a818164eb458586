"""The entry point, parse_email, and the walk over the parsed MIME tree that finds the bodies
and attachments within the limits."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import Message
from email.parser import BytesParser

from messages.parsing.charsets import _clean_text, _decode_bytes
from messages.parsing.headers import (
    _decode_header_value,
    _fix_8bit,
    _is_auto_submitted,
    _message_ids,
    _parse_date,
    _strip_controls,
    _unfold,
    _verdicts,
    parse_address_list,
)
from messages.parsing.limits import (
    DEFAULT_LIMITS,
    ParseError,
    ParseLimits,
    _Budget,
    _check_line_count,
    _check_parameter_continuations,
    _check_structure,
    _check_top_headers,
)
from messages.parsing.parts import (
    _content_id,
    _content_type,
    _disposition,
    _filename,
    _generated_filename,
    _message_attachment,
    _param,
    _payload_bytes,
    _stored_payload,
)
from messages.parsing.replies import extract_new_text
from messages.parsing.results import ParsedAttachment, ParsedEmail
from messages.parsing.text import html_to_text


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
