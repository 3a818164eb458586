"""Who really sent a received message: DKIM (and ARC), SPF and DMARC verdicts computed by Sendook.

`authenticate(raw, record=, from_address=)` returns the verdicts stored as `Message.verdicts`
(the API's `authentication` object):

    {"spf": V, "dkim": V, "dmarc": V, "arc"?: V, "checkedBy": "sendook"|"provider",
     "domains": {"from": …, "spf"?: …, "dkim": [d= of each passing signature], "dmarc"?: …},
     "dmarcPolicy"?: "reject"|"quarantine"|"none", "reasons"?: {"dkim": "…", …}}

with V one of pass|fail|softfail|neutral|none|temperror|permerror. Provider-only keys (spam,
virus from SES) are kept beside them.

What is checked where:
- DKIM (dkimpy) on every received message, whatever the way in: the signatures are in the bytes.
  ARC (dkimpy) where the message carries ARC sets; recorded, never used to override DMARC.
- SPF (pyspf) only for mail Sendook's own SMTP listener accepted: only there does Sendook know
  the connecting address, HELO and envelope sender (InboundEmail.client_ip/helo/mail_from).
- DMARC (the From domain's `_dmarc` record, the organizational domain's as fallback, alignment
  of the SPF and DKIM passes with the From domain) for SMTP mail; on other ways in Sendook lacks
  SPF, so its own DMARC verdict can only be "pass" (an aligned DKIM pass suffices on its own).
- SES: the receipt's spfVerdict/dkimVerdict/dmarcVerdict, which reach InboundEmail.verdicts only
  from signature-checked SNS notifications (messages/inbound/ses/). SPF and DMARC are SES's
  (checkedBy "provider": SES saw the connection); DKIM is Sendook's own wherever it has a definite
  answer (pass/fail/permerror/neutral) — it checked the very bytes stored — and SES's otherwise;
  Sendook's aligned DKIM pass upgrades SES's DMARC verdict to "pass".
- Anymail providers: Anymail normalizes no authentication verdicts (its `spam_detected` comes
  from headers in the message), so those channels contribute none; Sendook's DKIM still runs.
- Authentication-Results, ARC-Authentication-Results, Received-SPF and X-*-Verdict headers in
  the message are never read: whoever wrote the message can write them.

Bounds (hostile mail must cost little and never lose the message): every lookup goes through
inboxes.dns.query with a per-lookup timeout (SENDOOK_AUTH_DNS_TIMEOUT) and all of a message's
lookups share one budget (SENDOOK_AUTH_TIME_BUDGET_SECONDS) — an unanswered check is
"temperror"; at most SENDOOK_AUTH_MAX_SIGNATURES DKIM signatures are checked (the rest are
counted in reasons); a signature whose h= names more than MAX_SIGNED_HEADERS fields or whose
header is longer than MAX_SIGNATURE_BYTES is "permerror" unchecked; any dkimpy/pyspf error is
"permerror"; at most MAX_ARC_SETS ARC sets are verified.

`l=` (body length): a signature that covers only the first l bytes of the body says nothing about
what follows, which is exactly where an attacker (or a list footer) adds text. A valid signature
whose l= is shorter than the canonicalized body is "neutral" (not a pass, not a forgery), with
the reason; one whose l= covers the whole body counts as a pass.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

import dkim
import spf
from django.conf import settings

from inboxes import dns as sendook_dns
from messages.services.dmarc import aligned, check_dmarc
from messages.services.verdicts import (
    FAIL,
    NEUTRAL,
    NONE,
    PASS,
    PERMERROR,
    TEMPERROR,
    VERDICTS,
    Budget,
)

logger = logging.getLogger(__name__)

SENDOOK, PROVIDER = "sendook", "provider"

MAX_SIGNED_HEADERS = 100  # h= entries; real signers sign ~10-30 (some twice)
MAX_SIGNATURE_BYTES = 16 * 1024  # one DKIM-Signature header; a 4096-bit b= is ~700 bytes
MAX_ARC_SETS = 10  # RFC 8617 allows 50; real chains have a handful
# A message's verdict when its signatures disagree: one pass is enough; failing that the most
# informative outcome (a lookup that may succeed later, then a signature that did not verify).
_DKIM_ORDER = (PASS, TEMPERROR, FAIL, NEUTRAL, PERMERROR, NONE)
# SES receipt statuses (lower-cased by messages/inbound/ses/notifications.py).
_PROVIDER_STATUS = {
    "gray": NONE,
    "disabled": NONE,
    "processing_failed": TEMPERROR,
}

_quiet = logging.getLogger("sendook.dkim")  # dkimpy logs every failure at ERROR
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


# --- the entry point --------------------------------------------------------------------------


def authenticate(raw: bytes, *, record: Any, from_address: str) -> dict[str, Any]:
    """The verdicts for one received message (`record` is its InboundEmail). Never raises for
    anything the message or DNS does: every failure is a verdict."""
    budget = Budget(settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS)
    provider = _provider_verdicts(record.verdicts or {})
    extra = {k: v for k, v in (record.verdicts or {}).items() if k not in ("spf", "dkim", "dmarc")}
    reasons: dict[str, str] = {}
    from_domain = _domain_of(from_address)
    domains: dict[str, Any] = {"from": from_domain or ""}

    dkim_verdict, passed, dkim_reason = check_dkim(raw, budget)
    domains["dkim"] = passed
    if dkim_reason:
        reasons["dkim"] = dkim_reason
    result: dict[str, Any] = {}
    arc = check_arc(raw, budget) if _has_arc(raw) else None
    if arc is not None:
        result["arc"], arc_reason = arc
        if arc_reason:
            reasons["arc"] = arc_reason

    checked_by = SENDOOK
    smtp = record.source == "smtp" and bool(record.client_ip)
    if smtp:
        spf_verdict, spf_domain, spf_reason = check_spf(
            record.client_ip, mail_from=record.mail_from, helo=record.helo, budget=budget
        )
        if spf_domain:
            domains["spf"] = spf_domain
        if spf_reason:
            reasons["spf"] = spf_reason
    elif "spf" in provider:
        spf_verdict, spf_domain, checked_by = provider["spf"], "", PROVIDER
    else:
        spf_verdict, spf_domain = NONE, ""
        reasons["spf"] = f"not checked: Sendook did not see the connection ({record.source})"

    if dkim_verdict in (NONE, TEMPERROR) and "dkim" in provider:
        # No signature Sendook could decide on; the provider may have seen one (or DNS then).
        dkim_verdict, checked_by = provider["dkim"], PROVIDER
        reasons["dkim"] = (reasons.get("dkim", "") + "; the provider's verdict").lstrip("; ")

    dmarc: dict[str, Any]
    if not from_domain:
        dmarc = {"verdict": NONE if not from_address else PERMERROR,
                 "reason": "no From domain" if not from_address else "the From domain is invalid"}  # fmt: skip
    elif smtp:
        dmarc = check_dmarc(
            from_domain, spf=(spf_verdict, spf_domain), dkim_domains=passed, budget=budget,
            dkim_verdict=dkim_verdict,
        )  # fmt: skip
    elif any(aligned(d, from_domain, strict=False) for d in passed):
        # DKIM alone decides a pass; the record says which policy applies (and strict adkim).
        dmarc = check_dmarc(
            from_domain, spf=(NONE, ""), dkim_domains=passed, budget=budget,
            dkim_verdict=dkim_verdict,
        )  # fmt: skip
        if dmarc["verdict"] != PASS and provider.get("dmarc") == PASS:
            dmarc["verdict"], checked_by = PASS, PROVIDER
    elif "dmarc" in provider:
        dmarc = {"verdict": provider["dmarc"]}
        checked_by = PROVIDER
    else:
        dmarc = {"verdict": NONE, "reason": "not evaluated: no aligned DKIM pass, and SPF is "
                 f"not known on this way in ({record.source})"}  # fmt: skip
    if dmarc.get("reason"):
        reasons["dmarc"] = dmarc["reason"]
    if dmarc.get("domain"):
        domains["dmarc"] = dmarc["domain"]

    result = {
        **extra,
        "spf": spf_verdict,
        "dkim": dkim_verdict,
        "dmarc": dmarc["verdict"],
        **result,
        "checkedBy": checked_by,
        "domains": domains,
    }
    if dmarc.get("policy"):
        result["dmarcPolicy"] = dmarc["policy"]
    if reasons:
        result["reasons"] = {key: value[:500] for key, value in reasons.items()}
    return result


# --- DKIM and ARC -----------------------------------------------------------------------------


class _KeyLookup:
    """dkimpy's `dnsfunc`, answered through our resolver within the budget. dkimpy turns a DNS
    timeout and an unusable key alike into "not verified" (False); this remembers which it was,
    so a timeout is "temperror" and a missing or broken key "permerror" rather than "fail"."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.temperror = ""
        self.key_problem = ""

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        try:
            text = name.decode("ascii").rstrip(".")
        except UnicodeDecodeError:
            self.key_problem = "the key name is not ASCII"
            return None
        try:
            answers = sendook_dns.query(text, "TXT", timeout=self.budget.lookup_timeout())
        except sendook_dns.NoDefiniteAnswer as exc:
            self.temperror = f"{text}: {exc}"
            raise dkim.DnsTimeoutError(str(exc)) from exc
        records = [b"".join(rdata.strings) for rdata in answers]
        if not records:
            self.key_problem = f"no key published at {text}"
            return None
        try:
            dkim.evaluate_pk(name, records[0])
        except (dkim.KeyFormatError, ValueError, IndexError, TypeError) as exc:
            self.key_problem = f"unusable key at {text}: {exc}"
        return records[0]


def check_dkim(raw: bytes, budget: Budget) -> tuple[str, list[str], str]:
    """(verdict, d= of each passing signature, reason)."""
    try:
        verifier = dkim.DKIM(raw, logger=_quiet, minkey=1024)
    except Exception as exc:  # dkimpy's parser on hostile bytes
        return PERMERROR, [], f"the message could not be read for DKIM: {exc}"
    signatures = [
        i for i, (name, _) in enumerate(verifier.headers) if name.lower() == b"dkim-signature"
    ]
    if not signatures:
        return NONE, [], ""
    limit = max(1, settings.SENDOOK_AUTH_MAX_SIGNATURES)
    outcomes: list[tuple[str, str, str]] = []  # (verdict, d=, why)
    for idx in range(min(len(signatures), limit)):
        outcomes.append(_check_signature(verifier, idx, budget))
    passed = list(dict.fromkeys(d for verdict, d, _ in outcomes if verdict == PASS and d))
    verdict = min((v for v, _, _ in outcomes), key=_DKIM_ORDER.index)
    notes = [f"signature {n + 1}{f' (d={d})' if d else ''}: {why}" for n, (v, d, why) in
             enumerate(outcomes) if v != PASS]  # fmt: skip
    if len(signatures) > limit:
        notes.append(f"{len(signatures) - limit} more signatures not checked (limit {limit})")
    return verdict, passed, "; ".join(notes)


def _check_signature(verifier: dkim.DKIM, idx: int, budget: Budget) -> tuple[str, str, str]:
    header = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"][idx]
    if len(header) > MAX_SIGNATURE_BYTES:
        return PERMERROR, "", f"header is {len(header)} bytes (limit {MAX_SIGNATURE_BYTES})"
    domain = ""
    try:
        prepared = verifier.verify_headerprep(idx)
        if not prepared:
            return PERMERROR, "", "unreadable"
        sig, include_headers, sigheaders = prepared
        domain = _text(sig.get(b"d", b"")).lower()
        if len(include_headers) > MAX_SIGNED_HEADERS:
            return (PERMERROR, domain,
                    f"h= lists {len(include_headers)} fields (limit {MAX_SIGNED_HEADERS})")  # fmt: skip
        if budget.remaining() <= 0:
            return TEMPERROR, domain, "the time budget ran out before this signature"
        lookup = _KeyLookup(budget)
        valid = verifier.verify_sig(sig, include_headers, sigheaders[idx], lookup)
    except dkim.ValidationError as exc:
        if "body hash mismatch" in str(exc):
            return FAIL, domain, "the body was changed after signing (body hash mismatch)"
        return PERMERROR, domain, f"invalid signature: {exc}"
    except Exception as exc:  # DKIMException and whatever hostile input makes dkimpy raise
        return PERMERROR, domain, f"{type(exc).__name__}: {exc}"
    if lookup.temperror:
        return TEMPERROR, domain, f"key lookup failed: {lookup.temperror}"
    if lookup.key_problem:
        return PERMERROR, domain, lookup.key_problem
    if not valid:
        return FAIL, domain, "the signature does not verify"
    covered = _l_shortfall(verifier, sig)
    if covered:
        return NEUTRAL, domain, covered
    return PASS, domain, ""


def _l_shortfall(verifier: dkim.DKIM, sig: dict[bytes, bytes]) -> str:
    """Why a valid signature with l= does not vouch for the whole body; "" when it does."""
    if b"l" not in sig:
        return ""
    policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    length = len(policy.canonicalize_body(verifier.body))
    signed = int(sig[b"l"])
    if signed >= length:
        return ""
    return f"l= signs only the first {signed} of {length} body bytes; the rest was added"


def _has_arc(raw: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return re.search(rb"(?im)^arc-seal\s*:", head) is not None


def check_arc(raw: bytes, budget: Budget) -> tuple[str, str]:
    """(verdict, reason) of the message's ARC chain (RFC 8617 chain validation)."""
    try:
        arc = dkim.ARC(raw, logger=_quiet, minkey=1024)
        sets = sum(1 for name, _ in arc.headers if name.lower() == b"arc-seal")
        if sets > MAX_ARC_SETS:
            return PERMERROR, f"{sets} ARC sets (limit {MAX_ARC_SETS})"
        for _, value in arc.headers:
            if len(value) > MAX_SIGNATURE_BYTES:
                return PERMERROR, "an ARC header is too long"
        lookup = _KeyLookup(budget)
        cv, _results, comment = arc.verify(dnsfunc=lookup)
    except Exception as exc:
        return PERMERROR, f"{type(exc).__name__}: {exc}"
    if cv == dkim.CV_Pass:
        return PASS, ""
    if lookup.temperror:
        return TEMPERROR, f"key lookup failed: {lookup.temperror}"
    if cv == dkim.CV_None:
        return NONE, _text(comment)
    return FAIL, _text(comment)


# --- SPF --------------------------------------------------------------------------------------


def _spf_dns_lookup(name: str, qtype: str, strict: Any = True, timeout: float = 20) -> list:
    """pyspf's DNS hook, answered by our resolver. pyspf resolves through the module-level
    `spf.DNSLookup` (dnspython's default resolver: /etc/resolv.conf, port 53 only) and offers
    no way to name a nameserver or port, so it is replaced — once, at import — by this function
    with the same answer format (pyspf's DNSLookup_dnspython). `timeout` is what pyspf has left
    of the querytime we give it; each lookup is also capped at SENDOOK_AUTH_DNS_TIMEOUT."""
    try:
        answers = sendook_dns.query(
            name, qtype, timeout=min(float(timeout), settings.SENDOOK_AUTH_DNS_TIMEOUT)
        )
    except sendook_dns.NoDefiniteAnswer as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    result: list = []
    for rdata in answers:
        if qtype in ("A", "AAAA"):
            result.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            result.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            result.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            result.append(((name, qtype), rdata.strings))
    return result


spf.DNSLookup = _spf_dns_lookup


def check_spf(client_ip: str, *, mail_from: str, helo: str, budget: Budget) -> tuple[str, str, str]:
    """(verdict, domain checked, reason) for the SMTP client `client_ip` sending as `mail_from`
    (or, for a null sender, postmaster@`helo`, as RFC 7208 says)."""
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return PERMERROR, "", f"not an IP address: {client_ip!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    sender = (mail_from or "").strip().strip("<>")
    helo = (helo or "").strip()
    if not sender and not helo:
        return NONE, "", "no envelope sender and no HELO name"
    timeout = budget.remaining()
    if timeout <= 0:
        return TEMPERROR, "", "the time budget ran out before SPF"
    try:
        q = spf.query(str(ip), sender, helo, timeout=settings.SENDOOK_AUTH_DNS_TIMEOUT,
                      querytime=timeout)  # fmt: skip
        domain = str(q.d or "").lower()
        verdict, _code, explanation = q.check()
    except Exception as exc:  # pyspf on hostile records and names
        return PERMERROR, "", f"{type(exc).__name__}: {exc}"
    verdict = str(verdict).lower()
    if verdict == "ambiguous":
        verdict = PERMERROR
    if verdict not in VERDICTS:
        verdict = PERMERROR
    # Not pyspf's explanation: for a fail it is the sender domain's own exp= text.
    reasons = {
        PASS: "",
        NONE: f"{domain} publishes no SPF record",
        TEMPERROR: f"{domain}: {explanation}",
        PERMERROR: f"{domain}: {explanation}",
    }
    reason = reasons.get(verdict, f"{domain} does not authorize {ip} ({verdict})")
    return verdict, domain, reason


# --- helpers ----------------------------------------------------------------------------------


def _provider_verdicts(stored: dict[str, Any]) -> dict[str, str]:
    """spf/dkim/dmarc a provider recorded on the InboundEmail (only signature-checked SES
    notifications write them), in our vocabulary."""
    result = {}
    for name in ("spf", "dkim", "dmarc"):
        value = str(stored.get(name, "")).strip().lower()
        if value:
            result[name] = value if value in VERDICTS else _PROVIDER_STATUS.get(value, NONE)
    return result


def _domain_of(address: str) -> str:
    """The From address's domain, ASCII (IDNA) and lower-cased; "" when there is none or it is
    not a usable domain name."""
    _, _, domain = (address or "").rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        return ""
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    if len(domain) > 253 or not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+", domain):
        return ""
    return domain


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value or "")
