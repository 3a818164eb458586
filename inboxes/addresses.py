"""Email addresses as the API takes them: "a@example.com" or "Ann <a@example.com>"."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses, parseaddr

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email


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


def format_mailbox(name: str, email: str) -> str:
    """The one way a stored (name, address) pair becomes a header value: `"Lovelace, Ada"
    <ada@x>` keeps its quotes, so the comma cannot split it into two recipients."""
    name = " ".join((name or "").split())[:200]
    if not name:
        return email
    local, _, domain = email.rpartition("@")
    try:
        return str(Address(display_name=name, username=local, domain=domain))
    except (ValueError, TypeError, IndexError):
        return email


# An inbox's local part: letters, digits, `.`, `_`, `-`, no leading, trailing or doubled dot.
# Quoted strings and escapes are refused outright: `"desk"@x` and `de\sk@x` name the mailbox
# `desk@x` on the wire, and would let one organization send as another's address.
_INBOX_LOCAL = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")


def canonical_domain(domain: str) -> str:
    """Lower-case ASCII form of a domain (IDNA for Unicode names), without a trailing dot."""
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        raise InvalidAddress("Enter a valid email address.")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress("Enter a valid email address.") from None


def canonical_inbox_address(value: str) -> str:
    """The one canonical form of an address an inbox may hold (creation, uniqueness, routing
    and the From header all use it); raises InvalidAddress naming what is wrong."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise InvalidAddress("Enter a valid email address.")
    if any(char in local for char in '"\\()<>[],;: \t'):
        raise InvalidAddress(
            "Inbox addresses cannot contain quotes, backslashes, spaces or brackets."
        )
    if "+" in local:
        # name+tag@ is routed to name@ with the label "tag", so it cannot be an inbox itself.
        raise InvalidAddress("Inbox addresses cannot contain '+'.")
    local = local.lower()
    if len(local) > 64 or not _INBOX_LOCAL.match(local):
        raise InvalidAddress(
            "Use letters, digits, '.', '_' and '-' before the @ (no leading, trailing or "
            "doubled dot)."
        )
    address = f"{local}@{canonical_domain(domain)}"
    try:
        validate_email(address)
    except DjangoValidationError:
        raise InvalidAddress("Enter a valid email address.") from None
    return address


def routing_address(value: str) -> str:
    """Where mail for `value` goes: lower-cased, a quoted local part unquoted (RFC 5321 says
    `"desk"@x` is `desk@x`), the domain in its canonical ASCII form; "" when not an address."""
    value = value.strip().strip("<>").strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return ""
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = re.sub(r"\\(.)", r"\1", local[1:-1])
    try:
        domain = canonical_domain(domain)
    except InvalidAddress:
        return ""
    return f"{local.lower()}@{domain}"


def addr_spec(value: str) -> str:
    """The lower-cased bare address of a stored "Name <addr>" or "addr" string."""
    return parseaddr(value)[1].lower()


def split_address(address: str) -> tuple[str, str]:
    """`Name+Tag@Example.com` → ("name@example.com", "tag"); ("", "") when not an address."""
    address = routing_address(address)
    local, _, domain = address.rpartition("@")
    base, _, tag = local.partition("+")
    if not base:
        return "", ""
    return f"{base}@{domain}", tag
