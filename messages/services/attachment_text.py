"""Text of an attachment for the agent context view (messages/services/context.py): PDF
(pypdf), DOCX (python-docx), HTML (nh3, then our HTML-to-text), CSV and plain text, within limits
on the bytes read, the pages, the uncompressed size of a DOCX's zip members, the characters kept
and the seconds spent. What cannot be read is "unavailable: <reason>"; the outcome is kept on
the attachment (`text`, `text_status`) so it is extracted once."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import time
import zipfile
from collections.abc import Callable

import nh3
from django.conf import settings

from messages.models import Attachment
from messages.parsing import html_to_text

logger = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int = 10 * 1024 * 1024  # an attachment larger than this is not read at all
    max_chars: int = 50_000  # characters kept of one attachment's text
    max_seconds: float = 5.0  # spent on one attachment
    max_pages: int = 100  # of a PDF
    max_uncompressed: int = 20 * 1024 * 1024  # a DOCX's zip members, added up
    max_members: int = 1000  # in a DOCX's zip


def extraction_limits() -> ExtractionLimits:
    """The limits, from settings where an operator set them (SENDOOK_CONTEXT_ATTACHMENT_*)."""
    defaults = ExtractionLimits()
    return ExtractionLimits(
        **{
            field.name: getattr(
                settings,
                f"SENDOOK_CONTEXT_ATTACHMENT_{field.name.upper()}",
                getattr(defaults, field.name),
            )
            for field in dataclasses.fields(ExtractionLimits)
        }
    )


class Unavailable(Exception):
    """Why an attachment's text cannot be given."""


def attachment_text(
    attachment: Attachment, *, limits: ExtractionLimits, deadline: float | None = None
) -> tuple[str, str]:
    """(text, status) of an attachment, extracted once and kept on the row; status is "ok" or
    "unavailable: <reason>"."""
    if attachment.text_status:
        return attachment.text, attachment.text_status
    if deadline is not None and time.monotonic() > deadline:
        # Not kept: the next request extracts it.
        return "", f"{UNAVAILABLE}: this request ran out of time, ask again"
    try:
        text, status = extract_text(attachment, limits=limits), "ok"
    except Unavailable as exc:
        text, status = "", f"{UNAVAILABLE}: {exc}"[:200]
    attachment.text, attachment.text_status = text.replace("\x00", ""), status
    Attachment.objects.filter(pk=attachment.pk).update(
        text=attachment.text, text_status=attachment.text_status
    )
    return attachment.text, attachment.text_status


def extract_text(attachment: Attachment, *, limits: ExtractionLimits) -> str:
    """The attachment's text within `limits`; raises Unavailable saying why not."""
    kind = _kind(attachment)
    if kind is None:
        raise Unavailable(f"{attachment.content_type or 'this type'} is not a text format")
    if attachment.size > limits.max_bytes:
        raise Unavailable(
            f"too large to read ({_size(attachment.size)}; the limit is {_size(limits.max_bytes)})"
        )
    try:
        with attachment.file.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise Unavailable("the stored file could not be read") from exc
    if len(data) > limits.max_bytes:
        raise Unavailable(f"too large to read (the limit is {_size(limits.max_bytes)})")
    started = time.monotonic()
    text = _EXTRACTORS[kind](data, limits, started + limits.max_seconds, attachment.content_type)
    return _tidy(text)[: limits.max_chars]


def _kind(attachment: Attachment) -> str | None:
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    name = (attachment.filename or "").lower()
    by_type = {
        "application/pdf": "pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "text/html": "html",
        "application/xhtml+xml": "html",
        "text/csv": "csv",
        "application/csv": "csv",
        "text/plain": "text",
        "text/markdown": "text",
    }
    if content_type in by_type:
        return by_type[content_type]
    # Clients often send application/octet-stream: the name decides then.
    for suffix, kind in ((".pdf", "pdf"), (".docx", "docx"), (".html", "html"), (".htm", "html"),
                         (".csv", "csv"), (".txt", "text"), (".md", "text")):  # fmt: skip
        if name.endswith(suffix):
            return kind
    return None


def _pdf(data: bytes, limits: ExtractionLimits, deadline: float, content_type: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise Unavailable("not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password, only to restrict printing.
            try:
                if not reader.decrypt(""):
                    raise Unavailable("the PDF is encrypted with a password")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise Unavailable("the PDF is encrypted with a password") from exc
        pages = reader.pages
        count = len(pages)
        parts: list[str] = []
        kept = 0
        for index in range(min(count, limits.max_pages)):
            if time.monotonic() > deadline:
                parts.append(f"[text of pages {index + 1}-{count} left out: time limit]")
                break
            page_text = pages[index].extract_text() or ""
            parts.append(page_text)
            kept += len(page_text)
            if kept > limits.max_chars:
                break
        else:
            if count > limits.max_pages:
                parts.append(f"[pages {limits.max_pages + 1}-{count} left out: page limit]")
    except Unavailable:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError, zipfile.BadZipFile, OSError) as exc:  # fmt: skip
        raise Unavailable(f"the PDF could not be read ({type(exc).__name__})") from exc
    text = "\n\n".join(part.strip() for part in parts if part.strip())
    if not text:
        raise Unavailable("the PDF has no text layer (scanned pages?)")
    return text


def _docx(data: bytes, limits: ExtractionLimits, deadline: float, content_type: str) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise Unavailable("not a DOCX file (no readable zip)") from exc
    if len(members) > limits.max_members:
        raise Unavailable(f"the DOCX has too many parts ({len(members)})")
    # A zip bomb: the declared sizes decide before anything is decompressed (zipfile stops
    # at a member's declared size, so a member cannot inflate past it either).
    uncompressed = sum(member.file_size for member in members)
    if uncompressed > limits.max_uncompressed:
        raise Unavailable(
            f"the DOCX would expand to {_size(uncompressed)} "
            f"(the limit is {_size(limits.max_uncompressed)})"
        )
    try:
        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        kept = 0
        for block in document.iter_inner_content():
            if time.monotonic() > deadline:
                parts.append("[the rest left out: time limit]")
                break
            if hasattr(block, "rows"):  # a table: one line per row, cells separated by " | "
                text = "\n".join(
                    " | ".join(cell.text.strip() for cell in row.cells) for row in block.rows
                )
            else:
                text = block.text
            parts.append(text)
            kept += len(text)
            if kept > limits.max_chars:
                break
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError,
            AttributeError, TypeError, IndexError, RecursionError) as exc:  # fmt: skip
        raise Unavailable(f"the DOCX could not be read ({type(exc).__name__})") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and kin: hostile input, not our failure
        if type(exc).__module__.startswith("lxml"):
            raise Unavailable(f"the DOCX could not be read ({type(exc).__name__})") from exc
        raise
    return "\n".join(parts)


def _decode(data: bytes, content_type: str) -> str:
    charset = ""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _html(data: bytes, limits: ExtractionLimits, deadline: float, content_type: str) -> str:
    # nh3 drops scripts, styles and anything active first; our converter then lays out text.
    cleaned = nh3.clean(_decode(data, content_type), tags=_TEXT_TAGS, attributes={})
    return html_to_text(cleaned)


def _csv(data: bytes, limits: ExtractionLimits, deadline: float, content_type: str) -> str:
    text = _decode(data, content_type)
    try:
        dialect = csv.Sniffer().sniff(text[:4096]) if text.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    rows: list[str] = []
    kept = 0
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            line = " | ".join(cell.strip() for cell in row)
            rows.append(line)
            kept += len(line) + 1
            if kept > limits.max_chars:
                break
    except csv.Error:
        return text  # not really CSV: its text as written
    return "\n".join(rows)


def _text(data: bytes, limits: ExtractionLimits, deadline: float, content_type: str) -> str:
    return _decode(data, content_type)


_EXTRACTORS: dict[str, Callable[[bytes, ExtractionLimits, float, str], str]] = {
    "pdf": _pdf,
    "docx": _docx,
    "html": _html,
    "csv": _csv,
    "text": _text,
}
_TEXT_TAGS = {
    "p", "br", "div", "span", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table",
    "thead", "tbody", "tr", "td", "th", "blockquote", "pre", "b", "i", "strong", "em", "a",
}  # fmt: skip


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    tidy = "\n".join(lines).replace("\x00", "")
    while "\n\n\n" in tidy:
        tidy = tidy.replace("\n\n\n", "\n\n")
    return tidy.strip()


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} bytes"
