"""One MIME part: its type, parameters, disposition, filename, Content-ID and bytes; attached
messages kept as .eml bytes; generated and sanitized filenames."""

from __future__ import annotations

from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.utils import collapse_rfc2231_value
from io import BytesIO
from typing import Any

from messages.parsing.headers import (
    _decode_header_value,
    _fix_8bit,
    _strip_controls,
    _unfold,
)
from messages.parsing.results import ParsedAttachment

_SERIALIZE_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")


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
