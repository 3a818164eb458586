"""DMARC (RFC 7489) for a received message: the From domain's `_dmarc` record, else its
organizational domain's (by the Public Suffix List), applied to the SPF and DKIM passes with
relaxed or strict alignment. Called by messages/services/authentication.py."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from publicsuffixlist import PublicSuffixList

from inboxes import dns as sendook_dns
from messages.services.verdicts import FAIL, NONE, PASS, PERMERROR, TEMPERROR, Budget

_psl: PublicSuffixList | None = None


def check_dmarc(
    from_domain: str,
    *,
    spf: tuple[str, str],
    dkim_domains: Iterable[str],
    dkim_verdict: str,
    budget: Budget,
) -> dict[str, Any]:
    """{"verdict", "policy"?, "domain"?, "reason"?}: the From domain's DMARC record (RFC 7489
    6.6.3: its own, else the organizational domain's) applied to the SPF and DKIM passes."""
    organizational = organizational_domain(from_domain)
    found = _dmarc_record(from_domain, budget)
    record_domain = from_domain
    if found == {} and organizational != from_domain:
        found = _dmarc_record(organizational, budget)
        record_domain = organizational
    if found is None:
        return {"verdict": TEMPERROR, "reason": f"_dmarc.{record_domain}: no DNS answer"}
    if not found:
        return {"verdict": NONE, "reason": f"{from_domain} publishes no DMARC policy"}
    if "error" in found:
        return {"verdict": PERMERROR, "domain": record_domain, "reason": found["error"]}
    policy = found.get("p", "")
    if record_domain != from_domain and found.get("sp"):
        policy = found["sp"]  # the organizational domain's policy for its subdomains
    if policy not in ("none", "quarantine", "reject"):
        policy = "none" if found.get("rua") else ""  # RFC 7489 6.6.3 step 6
        if not policy:
            return {"verdict": PERMERROR, "domain": record_domain, "reason": "no valid p= tag"}
    strict_dkim = found.get("adkim", "r") == "s"
    strict_spf = found.get("aspf", "r") == "s"
    spf_verdict, spf_domain = spf
    aligned_dkim = [d for d in dkim_domains if aligned(d, from_domain, strict=strict_dkim)]
    aligned_spf = spf_verdict == PASS and aligned(spf_domain, from_domain, strict=strict_spf)
    base = {"policy": policy, "domain": record_domain}
    if aligned_dkim or aligned_spf:
        return {**base, "verdict": PASS}
    if TEMPERROR in (spf_verdict, dkim_verdict):
        return {**base, "verdict": TEMPERROR, "reason": "no aligned pass; a check had no answer"}
    why = []
    if dkim_domains:
        why.append(f"DKIM passed for {', '.join(dkim_domains)}, not aligned with {from_domain}")
    if spf_verdict == PASS:
        why.append(f"SPF passed for {spf_domain}, not aligned with {from_domain}")
    return {**base, "verdict": FAIL, "reason": "; ".join(why) or "no SPF or DKIM pass"}


def _dmarc_record(domain: str, budget: Budget) -> dict[str, str] | None:
    """The record's tags; {} when there is none; {"error": …} when unusable; None: no answer."""
    try:
        answers = sendook_dns.query(f"_dmarc.{domain}", "TXT", timeout=budget.lookup_timeout())
    except sendook_dns.NoDefiniteAnswer:
        return None
    texts = [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answers]
    records = [t for t in texts if re.match(r"v\s*=\s*DMARC1\s*(;|$)", t, re.IGNORECASE)]
    if len(records) != 1:
        return {}  # none, or several (RFC 7489 6.6.3: then there is no policy)
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        if "=" in part:
            key, _, value = part.partition("=")
            tags.setdefault(key.strip().lower(), value.strip().lower())
    return tags


def aligned(domain: str, from_domain: str, *, strict: bool) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if strict:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def organizational_domain(domain: str) -> str:
    """The registrable domain (public suffix + one label): `mail.example.co.uk` → `example.co.uk`."""
    global _psl
    if _psl is None:
        _psl = PublicSuffixList()
    domain = domain.lower().rstrip(".")
    return _psl.privatesuffix(domain) or domain
