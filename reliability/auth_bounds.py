"""Reliability 9: hostile signatures and broken DNS cost bounded time and memory.

Each case is a message that reaches the pipeline the way the SMTP listener stores it
(messages.inbound.smtp._store, connection facts included, so DKIM, ARC, SPF and DMARC all run),
in a fresh child process of its own so its peak RSS (getrusage ru_maxrss) is its own, against a
DNS server on loopback (SENDOOK_DNS_RESOLVER) that publishes a 2048-bit test key, SPF and
`p=reject` DMARC records, and misbehaves on purpose where the case says so:

  benign (a good signature: the control), tampered_body, thousand_signatures, long_h (a real
  signature over 150 fields), huge_h_header (45 KB of h=), malformed (8 broken DKIM-Signature
  headers), l_appended (l= then an appended body), big_body (a signed 10 MB body), arc_flood
  (60 ARC sets), dns_silent (no lookup is ever answered), dns_garbage (answers that are not DNS),
  spf_include_loop, spf_lookup_flood (an SPF record chaining 40 includes).

Figures: the slowest case's checks (authenticate() on the stored record, timed; target below
SENDOOK_AUTH_TIME_BUDGET_SECONDS + 3 s), the most memory the checks held (tracemalloc peak;
target below RELIABILITY_MAX_CHECK_MIB, default 128), the largest peak RSS of a case's process
above the benign control (parse and storage of the 10 MB case included; target below
RELIABILITY_MAX_AUTH_RSS_MIB, default 256), cases whose message was not stored (target 0) and
cases whose verdict was not the expected one (target 0). The whole pipeline's seconds per case
are printed too. Runs against PostgreSQL
(RELIABILITY_DATABASE_URL, written to); tasks run in-process.

    .venv/bin/python reliability/auth_bounds.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from reliability import common  # noqa: E402

BUDGET = 5.0
# Peak RSS of a whole case's process above the benign control (the 10 MB case's parse and
# storage included), and the most memory the checks themselves hold (tracemalloc).
MAX_EXTRA_RSS_MIB = int(os.environ.get("RELIABILITY_MAX_AUTH_RSS_MIB", "256"))
MAX_CHECK_MIB = int(os.environ.get("RELIABILITY_MAX_CHECK_MIB", "128"))
DOMAIN = "example.test"

# case -> the verdicts it must end in (key: allowed values).
CASES: dict[str, dict[str, tuple[str, ...]]] = {
    "benign": {"dkim": ("pass",), "spf": ("pass",), "dmarc": ("pass",)},
    "tampered_body": {"dkim": ("fail",), "dmarc": ("pass",)},  # SPF aligned still passes
    "thousand_signatures": {"dkim": ("pass",)},
    "long_h": {"dkim": ("permerror",)},
    "huge_h_header": {"dkim": ("permerror",)},
    "malformed": {"dkim": ("permerror",)},
    "l_appended": {"dkim": ("neutral",)},
    "big_body": {"dkim": ("pass",)},
    "arc_flood": {"arc": ("permerror",)},
    "dns_silent": {"dkim": ("temperror",), "spf": ("temperror",), "dmarc": ("temperror",)},
    "dns_garbage": {"dkim": ("temperror",), "spf": ("temperror",), "dmarc": ("temperror",)},
    "spf_include_loop": {"spf": ("permerror",)},
    "spf_lookup_flood": {"spf": ("permerror",)},
}


def build(case: str, key) -> tuple[bytes, str]:  # type: ignore[no-untyped-def]
    """(raw message, envelope sender) for `case`."""
    from messages.tests.inbound.mail import build_email
    from messages.tests.trust.conftest import sign

    sender = f"ceo@{DOMAIN}"
    if case == "spf_include_loop":
        sender = "ceo@loop-a.test"
    if case == "spf_lookup_flood":
        sender = "ceo@chain0.test"
    text = "Please wire the money today.\n"
    if case == "big_body":
        text = ("0123456789abcdef " * 4 + "\n") * 150_000  # ~10 MB
    raw = build_email(sender=f"Ceo <{sender}>", subject=f"case {case}", text=text,
                      message_id=f"<{case}-{time.time_ns()}@{DOMAIN}>")  # fmt: skip
    signed = sign(raw, key, domain=DOMAIN)
    signature = signed[: signed.index(b"From:")]
    if case == "tampered_body":
        return signed.replace(b"wire the money", b"wire the honey"), sender
    if case == "thousand_signatures":
        return signature * 999 + signed, sender
    if case == "long_h":
        fields = [b"from", b"to", b"subject"] + [b"x-filler"] * 147
        return sign(raw, key, domain=DOMAIN, include_headers=fields), sender
    if case == "huge_h_header":
        h = b":".join([b"x-filler"] * 5_000)
        header = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; bh=AAAA; b=AAAA; h="
        return header + h + b"\r\n" + raw, sender
    if case == "malformed":
        broken = [
            b"garbage",
            b"v=1; a=rsa-sha256; d=example.test; s=sel",
            b"v=1; a=rsa-md5; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA",
            b"v=1; a=rsa-sha256; d=exa(mple; s=sel; h=from; bh=AAAA; b=AAAA",
            b"v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=!!; b=%%",
            b"v=1; a=rsa-sha256; d=example.test; s=sel; h=from; l=-5; bh=AAAA; b=AAAA",
            b"v=1; a=rsa-sha256; d=\xff\xfe; s=\x00; h=from; bh=AAAA; b=AAAA",
            b";;;===;;",
        ]
        return b"".join(b"DKIM-Signature: " + b + b"\r\n" for b in broken) + raw, sender
    if case == "l_appended":
        return sign(raw, key, domain=DOMAIN, length=True) + b"\r\nP.S. New account: 666\r\n", sender
    if case == "arc_flood":
        sets = b"".join(
            b"ARC-Seal: i=%d; a=rsa-sha256; cv=pass; d=example.test; s=sel; b=AAAA\r\n"
            b"ARC-Message-Signature: i=%d; a=rsa-sha256; d=example.test; s=sel; h=from; "
            b"bh=AAAA; b=AAAA\r\nARC-Authentication-Results: i=%d; x; dkim=pass\r\n" % (i, i, i)
            for i in range(1, 61)
        )
        return sets + signed, sender
    return signed, sender


def child(case: str) -> None:
    """Runs one case in this process and prints its figures as JSON."""
    os.environ.pop("CELERY_BROKER_URL", None)  # in-process tasks: the whole pipeline here
    common.setup_django()
    from django.conf import settings

    from inboxes.models import Inbox, Organization
    from inboxes.tests.dns_server import loopback_dns
    from messages.inbound.smtp import _store
    from messages.models import InboundEmail, Message
    from messages.services.authentication import authenticate
    from messages.tests.trust.conftest import new_key, txt

    settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS = BUDGET
    settings.SENDOOK_AUTH_DNS_TIMEOUT = 2
    settings.SENDOOK_INBOUND_MAX_HEADERS = 5_000
    key = new_key(2048)
    with loopback_dns() as server:
        settings.SENDOOK_DNS_RESOLVER = server.address
        server.add(f"sel._domainkey.{DOMAIN}", "TXT", txt(key.dns_record))
        server.add(DOMAIN, "TXT", txt("v=spf1 ip4:127.0.0.0/8 -all"))
        server.add(f"_dmarc.{DOMAIN}", "TXT", txt("v=DMARC1; p=reject"))
        server.add("loop-a.test", "TXT", txt("v=spf1 include:loop-b.test -all"))
        server.add("loop-b.test", "TXT", txt("v=spf1 include:loop-a.test -all"))
        for i in range(40):
            server.add(f"chain{i}.test", "TXT", txt(f"v=spf1 include:chain{i + 1}.test -all"))
        if case in ("dns_silent", "dns_garbage"):
            how = case.removeprefix("dns_")
            for name in (f"sel._domainkey.{DOMAIN}", DOMAIN, f"_dmarc.{DOMAIN}"):
                server.misbehave(name, how)
        raw, sender = build(case, key)
        organization = Organization.objects.create(name=f"auth-bounds {case}")
        address = f"bounds-{case}-{time.time_ns()}@sendook.dev"
        Inbox.objects.create(organization=organization, email=address, name=case)
        started = time.perf_counter()
        public_id = _store(raw, [address], {"client_ip": "127.0.0.1", "helo": "mx.example.test",
                                            "mail_from": sender})  # fmt: skip
        elapsed = time.perf_counter() - started
        queries = len(server.queries)
        # The checks alone, again on the stored record: their time, then (tracemalloc slows
        # Python down, so separately) the most memory they held at once.
        record = InboundEmail.objects.get(public_id=public_id)
        from_address = sender
        started = time.perf_counter()
        authenticate(raw, record=record, from_address=from_address)
        auth_seconds = time.perf_counter() - started
        tracemalloc.start()
        authenticate(raw, record=record, from_address=from_address)
        auth_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    message = Message.objects.filter(inbound_email=record).first()
    verdicts = message.verdicts if message else {}
    print(json.dumps({
        "case": case, "seconds": elapsed, "auth_seconds": auth_seconds,
        "auth_peak_mib": auth_peak_mib, "status": record.status, "stored": message is not None,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "queries": queries, "bytes": len(raw),
        "verdicts": {k: verdicts.get(k) for k in ("spf", "dkim", "dmarc", "arc") if k in verdicts},
    }))  # fmt: skip


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        child(sys.argv[2])
        return 0
    common.configure()
    common.ensure_database()
    results = []
    for case in CASES:
        done = subprocess.run(
            [sys.executable, __file__, "--case", case],
            env=common.worker_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            print(f"{case:20s} CRASHED (exit {done.returncode})\n{done.stderr[-2000:]}")
            results.append({"case": case, "crashed": True})
            continue
        result = json.loads(lines[-1])
        expected = CASES[case]
        result["expected"] = all(result["verdicts"].get(k) in v for k, v in expected.items())
        results.append(result)
        print(
            f"{case:20s} {result['bytes'] / 1024:7.0f} KiB  pipeline {result['seconds']:5.2f} s "
            f"{result['rss_mib']:6.1f} MiB peak RSS  checks {result['auth_seconds']:5.2f} s "
            f"{result['auth_peak_mib']:6.1f} MiB  {result['queries']:3d} DNS queries  "
            f"{result['status']:9s} {json.dumps(result['verdicts'])}"
            f"{'' if result['expected'] else '  UNEXPECTED, wanted ' + json.dumps(expected)}",
            flush=True,
        )
    ran = [r for r in results if not r.get("crashed")]
    benign = next((r["rss_mib"] for r in ran if r["case"] == "benign"), 0.0)
    slowest = max((r["auth_seconds"] for r in ran), default=0.0)
    most_memory = max((r["auth_peak_mib"] for r in ran), default=0.0)
    extra_rss = max((r["rss_mib"] - benign for r in ran), default=0.0)
    crashed = len(results) - len(ran)
    lost = crashed + sum(1 for r in ran if not r["stored"])
    unexpected = sum(1 for r in ran if not r["expected"])
    ok = (
        slowest < BUDGET + 3
        and most_memory < MAX_CHECK_MIB
        and extra_rss < MAX_EXTRA_RSS_MIB
        and lost == 0
        and unexpected == 0
    )
    return common.figure(
        ok,
        slowest_check_seconds=slowest,
        check_peak_mib=most_memory,
        extra_rss_mib=extra_rss,
        benign_rss_mib=benign,
        not_stored=lost,
        unexpected_verdicts=unexpected,
    )


if __name__ == "__main__":
    sys.exit(main())
