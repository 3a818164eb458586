"""Hardened parsing of inbound raw email.

Pure Python and free of Django, so the receiving worker, the benchmarks and the tests can all use
it. Hostile or broken input must never crash the caller: every failure surfaces as ParseError
with a stable reason, so the message can be quarantined with its raw bytes kept.

The standard library parser does the MIME work. Around it we add what it does not give us:
cheap limit checks on the raw bytes before parsing (its cost grows badly with the number of
parts and the nesting depth), charset fallbacks that never lose text, and plain data classes.

Modules: limits (hard limits, cheap checks on the raw bytes), walk (parse_email and the MIME
walk), parts (one part's type, filename and bytes), headers (encoded words, addresses, dates,
ids), charsets, text (HTML to text), replies (quoted-reply stripping), results (the data classes).
"""

from messages.parsing.headers import parse_address_list
from messages.parsing.limits import DEFAULT_LIMITS, ParseError, ParseLimits
from messages.parsing.replies import extract_new_text
from messages.parsing.results import Address, ParsedAttachment, ParsedEmail
from messages.parsing.text import html_to_text
from messages.parsing.walk import parse_email

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
