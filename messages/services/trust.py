# ruff: noqa: RUF001  (homoglyphs are the point of this module)
"""What an agent may believe about a received message (API.md, Trust): `trust_signals`.

- `authenticated`: DMARC passed, or a DKIM signature that passed is aligned with the From
  domain (the same organizational domain, by the Public Suffix List). Verdicts are the ones
  Sendook computed or took from an authenticated provider channel (receive._verdicts), never
  headers found in the message.
- `firstContact`: the inbox never exchanged mail with this address, either way
  (services/correspondents.py, the memory the `first_contact` send policy uses).
- `lookalikeOf`: the From domain looks like, but is not, one of the organization's own domains
  (its inboxes' and its domains') or a domain the inbox corresponds with: the same confusable
  skeleton (Unicode homoglyphs, IDNA A-labels decoded, `rn` for `m`) or one edit away.
- `listed`: what the organization's allow/block lists say (services/lists.py decides it).

No maintained confusables package is installed, so the skeleton is a small mapping of the
Latin lookalikes that matter in domain names (Cyrillic, Greek, a few others, digits that pass
for letters), after NFKC and with combining marks removed: a subset of Unicode's UTS #39
confusables table, chosen for the letters a domain can hold.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import unicodedata
from typing import Any

import idna
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Lower, StrIndex, Substr
from publicsuffixlist import PublicSuffixList

from inboxes.addresses import addr_spec
from inboxes.models import Domain, Inbox
from messages.models import Correspondent, Message

logger = logging.getLogger(__name__)

# Below this many letters (the part before the public suffix) one edit makes too many real,
# unrelated names ("ab.com", "ac.com"): only identical skeletons count there.
MIN_EDIT_LABEL = 4

# Characters that render like a Latin letter or digit in a domain name (UTS #39 subset).
_CONFUSABLE = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r",
    "ѕ": "s", "т": "t", "ц": "u", "ѵ": "v", "ԝ": "w", "х": "x", "у": "y", "ү": "y", "ʐ": "z",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϳ": "j",
    # Armenian and Latin extensions
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "ı": "i", "ɡ": "g", "ɑ": "a", "ʟ": "l",
    "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŀ": "l",
    # Digits that pass for letters
    "0": "o", "1": "l",
}  # fmt: skip
# Letter pairs that read as one letter at a glance (applied after the single characters).
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("ii", "u"))

_psl = PublicSuffixList()


# --- the signals -------------------------------------------------------------------------------


def trust_signals(
    *, inbox: Inbox, from_address: str, verdicts: dict[str, Any], listed: str | None
) -> dict[str, Any]:
    """The message's `trust` object, computed once when the message is stored: one query
    (none for the domains while they are cached)."""
    address = addr_spec(from_address or "")
    domain = domain_of(address)
    known, contacted = _known(inbox, address)
    signals: dict[str, Any] = {
        "authenticated": is_authenticated(verdicts, from_domain=domain),
        "firstContact": not contacted,
    }
    lookalike = lookalike_of(domain, known=known) if domain else None
    if lookalike:
        signals["lookalikeOf"] = lookalike
    if listed in ("allow", "block"):
        signals["listed"] = listed
    return signals


def is_authenticated(verdicts: dict[str, Any], *, from_domain: str) -> bool:
    """DMARC pass, or a DKIM pass whose d= shares the From domain's organizational domain."""
    verdicts = verdicts or {}
    if str(verdicts.get("dmarc", "")).lower() == "pass":
        return True
    if not from_domain:
        return False
    domains = verdicts.get("domains") or {}
    signers = domains.get("dkim") if isinstance(domains, dict) else None
    if not isinstance(signers, list):
        return False
    wanted = organizational_domain(from_domain)
    return any(
        isinstance(signer, str) and organizational_domain(signer) == wanted for signer in signers
    )


def lookalike_of(domain: str, *, known: KnownDomains) -> str | None:
    """The own or known domain `domain` imitates; None when it imitates none, or is one."""
    claimed = organizational_domain(domain)
    # A domain the organization owns or has written to is itself, whatever it resembles.
    # (Mail received from it proves nothing: an impostor's first message would make it known.)
    if claimed in {organizational_domain(d) for d in known.own | known.sent_to}:
        return None
    candidates = [*sorted(known.own), *sorted((known.sent_to | known.received) - known.own)]
    # The closest imitation first: the same skeleton, then one edit away.
    mine = skeleton(claimed)
    for candidate in candidates:
        theirs = organizational_domain(candidate)
        if theirs != claimed and skeleton(theirs) == mine:
            return candidate
    for candidate in candidates:
        if looks_like(domain, candidate):
            return candidate
    return None


def looks_like(domain: str, known: str) -> bool:
    """`domain` is a confusable or one-edit lookalike of `known`, and not `known` itself (or a
    subdomain of the same organizational domain)."""
    mine, theirs = organizational_domain(domain), organizational_domain(known)
    if not mine or not theirs or mine == theirs:
        return False
    a, b = skeleton(mine), skeleton(theirs)
    if a == b:
        return True
    label = theirs[: -len(_public_suffix(theirs)) - 1] if _public_suffix(theirs) else theirs
    if len(label) < MIN_EDIT_LABEL:
        return False
    return _one_edit(mine, theirs) or _one_edit(a, b)


def claims_known_domain(message: Message) -> bool:
    """The received message's From domain is, or imitates, one the organization owns or the
    inbox corresponded with before this message: the case an "Unverified sender" warning is
    for (an unauthenticated ceo@<a customer's domain>)."""
    if message.trust.get("lookalikeOf"):
        return True
    domain = organizational_domain(domain_of(message.from_email))
    if not domain:
        return False
    own = {organizational_domain(d) for d in known_domains(message.inbox).own}
    if domain in own:
        return True
    suffix = "@" + domain_of(message.from_email)
    if Correspondent.objects.filter(inbox_id=message.inbox_id, email__endswith=suffix).exists():
        return True
    earlier = Message.objects.annotate(sender=Lower("from_email")).filter(
        inbox_id=message.inbox_id,
        direction=Message.Direction.INBOUND,
        sender__endswith=suffix,
        id__lt=message.pk,
    )
    # Only earlier mail that itself authenticated: an impostor's own earlier forgeries do not
    # make the domain a known contact.
    return any(row.get("authenticated") for row in earlier.values_list("trust", flat=True)[:50])


# --- domains -----------------------------------------------------------------------------------


def domain_of(address: str) -> str:
    """The lower-cased domain of an address, A-labels decoded to Unicode."""
    _, at, domain = (address or "").strip().rpartition("@")
    return to_unicode(domain.strip().rstrip(".")) if at else ""


def to_unicode(domain: str) -> str:
    domain = domain.lower()
    if "xn--" not in domain:
        return domain
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                try:
                    label = label.encode("ascii").decode("idna")  # IDNA 2003's wider rules
                except (UnicodeError, ValueError):
                    pass  # undecodable: compared as written
        labels.append(label)
    return ".".join(labels)


@functools.lru_cache(maxsize=4096)
def organizational_domain(domain: str) -> str:
    """`mail.acme.co.uk` → `acme.co.uk` (RFC 7489's organizational domain, by the PSL)."""
    domain = to_unicode((domain or "").strip().rstrip("."))
    if not domain:
        return ""
    return _psl.privatesuffix(domain) or domain


@functools.lru_cache(maxsize=4096)
def _public_suffix(domain: str) -> str:
    return _psl.publicsuffix(domain) or ""


@functools.lru_cache(maxsize=4096)
def skeleton(domain: str) -> str:
    """What a domain looks like: NFKC, case folded, combining marks dropped, confusable
    characters mapped to the Latin letter they imitate, `rn` read as `m`."""
    text = unicodedata.normalize("NFKC", domain).casefold()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = "".join(_CONFUSABLE.get(ch, ch) for ch in text)
    for pair, letter in _PAIRS:
        text = text.replace(pair, letter)
    return text


def _one_edit(a: str, b: str) -> bool:
    """Exactly one insertion, deletion, substitution or swap of neighbours apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    # One character more: the first difference is the inserted one (linear, for long names).
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


@dataclasses.dataclass(frozen=True)
class KnownDomains:
    own: frozenset[str]  # the organization's inboxes' and verified domains
    sent_to: frozenset[str]  # domains the inbox sent mail to
    received: frozenset[str]  # domains the inbox received mail from


def known_domains(inbox: Inbox) -> KnownDomains:
    return _known(inbox, "")[0]


def _known(inbox: Inbox, address: str) -> tuple[KnownDomains, bool]:
    """The inbox's known domains and whether it exchanged mail with `address`, in one UNION
    query; the domains are cached for SENDOOK_TRUST_DOMAINS_SECONDS (a counterparty added in
    that window is compared from the next refresh on), the address never is."""
    key = f"sendook:trust:domains:{inbox.public_id}"
    cached = _cache_get(key)
    rows = _rows(inbox, address, domains=cached is None)
    contacted = any(kind == "contact" for kind, _ in rows)
    if cached is not None:
        return cached, contacted
    found: dict[str, set[str]] = {
        "own": {domain_of("@" + inbox.email)},
        "sent": set(),
        "recv": set(),
    }
    for kind, value in rows:
        if kind in found and value:
            found[kind].add(to_unicode(value.lower()))
    known = KnownDomains(
        own=frozenset(found["own"] - {""}),
        sent_to=frozenset(found["sent"]),
        received=frozenset(found["recv"]),
    )
    _cache_set(key, known)
    return known, contacted


def _rows(inbox: Inbox, address: str, *, domains: bool) -> list[tuple[str, str]]:
    def tagged(rows: QuerySet, kind: str, value: Any) -> QuerySet:
        return rows.order_by().annotate(kind=Value(kind), value=value).values_list("kind", "value")

    def domain_part(field: str) -> Any:
        return Substr(Lower(field), StrIndex(field, Value("@")) + 1)

    inbound = Message.objects.filter(inbox=inbox, direction=Message.Direction.INBOUND)
    parts = []
    if address:
        parts += [
            tagged(Correspondent.objects.filter(inbox=inbox, email=address), "contact", F("email")),
            tagged(
                inbound.annotate(sender=Lower("from_email")).filter(sender=address),
                "contact",
                Lower("from_email"),
            ),
        ]
    if domains:
        organization = inbox.organization_id
        parts += [
            tagged(
                Domain.objects.filter(organization_id=organization, verified=True),
                "own",
                Lower("name"),
            ),
            tagged(Inbox.objects.filter(organization_id=organization), "own", domain_part("email")),
            tagged(Correspondent.objects.filter(inbox=inbox), "sent", domain_part("email")),
            tagged(inbound, "recv", domain_part("from_email")),
        ]
    if not parts:
        return []
    first, *rest = parts
    return list(first.union(*rest)) if rest else list(first)


def _cache_seconds() -> int:
    # Read here with a default (not declared in settings.py): only tests change it.
    return settings.SENDOOK_TRUST_DOMAINS_SECONDS


def _cache_get(key: str) -> KnownDomains | None:
    if _cache_seconds() <= 0:
        return None
    try:
        value = cache.get(key)
    except Exception:  # a cache outage must not stop mail being received: ask the database
        logger.warning("trust: cache unavailable", exc_info=True)
        return None
    return value if isinstance(value, KnownDomains) else None


def _cache_set(key: str, value: KnownDomains) -> None:
    if _cache_seconds() <= 0:
        return
    try:
        cache.set(key, value, _cache_seconds())
    except Exception:  # as above: the domains are asked for again next time
        logger.warning("trust: cache unavailable", exc_info=True)
