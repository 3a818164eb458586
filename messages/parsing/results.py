"""What a parse returns: plain data classes, free of the standard library's message objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
