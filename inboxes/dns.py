"""DNS lookups for domain verification (dnspython). The resolver is configurable so tests can
point it at a DNS server on loopback (SENDOOK_DNS_RESOLVER="127.0.0.1:5353")."""

import logging

import dns.exception
import dns.resolver
from django.conf import settings

logger = logging.getLogger(__name__)


def _resolver() -> dns.resolver.Resolver:
    configured = settings.SENDOOK_DNS_RESOLVER
    if not configured:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = configured.rpartition(":") if ":" in configured else (configured, "", "53")
        resolver.nameservers = [host or configured]
        resolver.port = int(port or 53)
    resolver.lifetime = settings.SENDOOK_DNS_TIMEOUT
    resolver.timeout = settings.SENDOOK_DNS_TIMEOUT
    return resolver


def lookup(name: str, rtype: str) -> list[str]:
    """Answers as comparable strings; a missing name, no answer or a timeout is no answer."""
    try:
        answer = _resolver().resolve(name, rtype)
    except (dns.exception.DNSException, OSError) as exc:
        logger.info("DNS %s %s: %s", rtype, name, exc)
        return []
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


def check_record(record: dict) -> str:
    """'verified' when DNS holds what the record asks to publish, else 'failed'."""
    rtype, name, expected = record["type"], record["name"], str(record["value"])
    found = lookup(name, rtype)
    if rtype == "TXT" and expected.startswith("v=spf1"):
        include = next((p for p in expected.split() if p.startswith("include:")), "")
        ok = any(v.startswith("v=spf1") and include in v.split() for v in found)
    elif rtype == "TXT" and expected.upper().startswith("V=DMARC1"):
        ok = any(v.upper().startswith("V=DMARC1") for v in found)
    elif rtype in ("MX", "CNAME"):
        ok = expected.rstrip(".").lower() in found
    else:
        ok = expected in found
    return "verified" if ok else "failed"
