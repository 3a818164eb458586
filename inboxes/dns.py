"""DNS lookups for domain verification (dnspython). The resolver is configurable so tests can
point it at a DNS server on loopback (SENDOOK_DNS_RESOLVER="127.0.0.1:5353").

A check ends in one of three record statuses: "verified" (DNS holds what the record asks to
publish), "failed" (a definite answer without it: NXDOMAIN, no answer, another value) and
"temperror" (no definite answer: timeout, SERVFAIL, unreachable resolver, the deadline ran
out). Callers keep a domain's prior state on "temperror"; only definite answers count against
it."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait

import dns.exception
import dns.resolver
from django.conf import settings

logger = logging.getLogger(__name__)

VERIFIED = "verified"
FAILED = "failed"
TEMPERROR = "temperror"


def _resolver() -> dns.resolver.Resolver:
    configured = settings.SENDOOK_DNS_RESOLVER
    if not configured:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = configured.rpartition(":") if ":" in configured else (configured, "", "53")
        resolver.nameservers = [host or configured]
        resolver.port = int(port or 53)
    resolver.timeout = settings.SENDOOK_DNS_TIMEOUT
    return resolver


def lookup(name: str, rtype: str, *, lifetime: float | None = None) -> list[str] | None:
    """Answers as comparable strings; [] for a definite "nothing there" (NXDOMAIN, no answer);
    None when DNS gave no definite answer (timeout, SERVFAIL, unreachable) within `lifetime`."""
    resolver = _resolver()
    resolver.lifetime = lifetime if lifetime is not None else settings.SENDOOK_DNS_TIMEOUT
    resolver.timeout = min(resolver.timeout, resolver.lifetime)
    try:
        answer = resolver.resolve(name, rtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
        logger.info("DNS %s %s: %s", rtype, name, exc)
        return []
    except (dns.exception.DNSException, OSError) as exc:
        # NoNameservers (SERVFAIL, REFUSED), timeouts, a resolver that cannot be reached.
        logger.info("DNS %s %s (no definite answer): %s", rtype, name, exc)
        return None
    values = []
    for rdata in answer:
        if rtype == "MX":
            values.append(str(rdata.exchange).rstrip(".").lower())
        elif rtype == "TXT":
            values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        elif rtype == "CNAME":
            values.append(str(rdata.target).rstrip(".").lower())
        else:
            values.append(rdata.to_text())
    return values


def _matches(record: dict, found: list[str]) -> bool:
    rtype, expected = record["type"], str(record["value"])
    if rtype == "TXT" and expected.startswith("v=spf1"):
        include = next((p for p in expected.split() if p.startswith("include:")), "")
        return any(v.startswith("v=spf1") and include in v.split() for v in found)
    if rtype == "TXT" and expected.upper().startswith("V=DMARC1"):
        return any(v.upper().startswith("V=DMARC1") for v in found)
    if rtype in ("MX", "CNAME"):
        return expected.rstrip(".").lower() in found
    return expected in found


def check_record(record: dict, found: list[str] | None) -> str:
    if found is None:
        return TEMPERROR
    return VERIFIED if _matches(record, found) else FAILED


def check_records(records: list[dict], *, deadline: float | None = None) -> list[str]:
    """Each record's status, looked up in parallel, all within one deadline (seconds,
    SENDOOK_DNS_VERIFY_TIMEOUT by default): a lookup still unanswered then is "temperror"."""
    deadline = settings.SENDOOK_DNS_VERIFY_TIMEOUT if deadline is None else deadline
    queries = list(dict.fromkeys((record["name"], record["type"]) for record in records))
    if not queries:
        return []
    ends_at = time.monotonic() + deadline
    pool = ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="dns-verify")
    try:
        futures = {query: pool.submit(lookup, *query, lifetime=deadline) for query in queries}
        wait(futures.values(), timeout=max(0.0, ends_at - time.monotonic()))
    finally:
        # Never wait for a straggler: each lookup's own lifetime ends it soon after anyway.
        pool.shutdown(wait=False, cancel_futures=True)
    answers = {
        query: future.result()
        if future.done() and not future.cancelled() and future.exception() is None
        else None
        for query, future in futures.items()
    }
    return [check_record(record, answers[(record["name"], record["type"])]) for record in records]


# --- raw answers, for mail authentication (messages/services/authentication.py) ----------------


class NoDefiniteAnswer(Exception):
    """DNS gave no definite answer: a timeout, SERVFAIL/REFUSED, garbage, an unreachable resolver."""


def query(name: str, rtype: str, *, timeout: float) -> list:
    """The rdata of a definite answer to `name`/`rtype` ([] for NXDOMAIN or no answer), within
    `timeout` seconds (the whole lookup, retries included); raises NoDefiniteAnswer otherwise.

    The same configurable resolver as domain verification (SENDOOK_DNS_RESOLVER), so tests
    answer from a DNS server on loopback and an operator can point mail checks at a local
    validating resolver. CNAME chains are followed by dnspython."""
    if timeout <= 0:
        raise NoDefiniteAnswer("no time left for DNS")
    resolver = _resolver()
    resolver.lifetime = timeout
    resolver.timeout = min(resolver.timeout, timeout)
    try:
        answer = resolver.resolve(name, rtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        # Timeouts, NoNameservers (SERVFAIL, REFUSED, unparseable answers), YXDOMAIN, a name
        # dnspython cannot build (too long, empty label: ValueError/LabelTooLong).
        raise NoDefiniteAnswer(f"{type(exc).__name__}: {exc}") from exc
    return list(answer)
