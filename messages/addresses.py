"""Email addresses as the API takes them: "a@example.com" or "Ann <a@example.com>"."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses, parseaddr

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

_RE_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*(\[\d+\])?\s*:\s*", re.IGNORECASE)
_FWD_PREFIX = re.compile(r"^\s*(fwd?|fw)\s*:\s*", re.IGNORECASE)


class InvalidAddress(ValueError):
    pass


def parse_address(value: str) -> Address:
    """One RFC 5322 mailbox, checked strictly; raises InvalidAddress with a readable reason."""
    if any(char in value for char in "\r\n\x00"):
        raise InvalidAddress("Must not contain line breaks or NUL characters.")
    value = value.strip()
    if not value or len(value) > 400:
        raise InvalidAddress("Enter a valid email address.")
    mailboxes = getaddresses([value])
    if len(mailboxes) != 1 or not mailboxes[0][1]:
        raise InvalidAddress("Enter exactly one valid email address.")
    name, addr = mailboxes[0]
    # getaddresses is lenient; cross-check with parseaddr and Django's validator.
    if parseaddr(value)[1] != addr or "@" not in addr:
        raise InvalidAddress("Enter a valid email address.")
    try:
        validate_email(addr)
    except DjangoValidationError:
        raise InvalidAddress("Enter a valid email address.") from None
    local, _, domain = addr.rpartition("@")
    try:
        return Address(display_name=name.strip()[:200], username=local, domain=domain.lower())
    except (ValueError, TypeError, IndexError):
        raise InvalidAddress("Enter a valid email address.") from None


def format_address(address: Address) -> str:
    """Bare address when there is no name, else `Name <addr>` (quoted where RFC 5322 needs)."""
    return str(address) if address.display_name else address.addr_spec


def addr_spec(value: str) -> str:
    """The lower-cased bare address of a stored "Name <addr>" or "addr" string."""
    return parseaddr(value)[1].lower()


def split_plus_tag(address: str) -> tuple[str, str]:
    """`bot+billing@x.com` → (`bot@x.com`, `billing`)."""
    local, _, domain = address.rpartition("@")
    base, plus, tag = local.partition("+")
    return (f"{base}@{domain}".lower(), tag if plus else "")


def strip_subject_prefixes(subject: str) -> str:
    previous = None
    while previous != subject:
        previous = subject
        subject = _RE_PREFIX.sub("", subject)
        subject = _FWD_PREFIX.sub("", subject)
    return subject.strip()


def reply_subject(subject: str) -> str:
    return subject if _RE_PREFIX.match(subject) else f"Re: {subject}".strip()


def forward_subject(subject: str) -> str:
    return subject if _FWD_PREFIX.match(subject) else f"Fwd: {subject}".strip()
