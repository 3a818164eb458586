"""Inbound benchmark: messages per second through the whole receiving pipeline.

    python bench/inbound.py [--count 300] [--seed 1]

Each message of bench/corpus.py's corpus arrives as a signed SES/SNS notification (SNS action,
base64 MIME inline) at POST /webhooks/ses: signature verified (certificate fetched once from a
loopback HTTPS server), raw stored, parsed by the in-process Celery task, routed, deduplicated,
threaded, stored with attachments, and `message.received` recorded. That rate is compared with
a bare loop that only parses the same corpus with the standard library's email package.

Then the cost of checking who sent it: the same corpus, DKIM-signed (dkimpy, a 2048-bit test
key per From domain published with SPF and `p=reject` DMARC records by a DNS server on loopback,
SENDOOK_DNS_RESOLVER), stored the way the SMTP listener stores it (messages.inbound.smtp._store,
with the connection facts) so DKIM, SPF and DMARC all run, against the same pipeline with the
verification switched off (services/receive._verdicts returning only provider verdicts), in
alternating rounds. Target: verification keeps at least half the throughput.

Runs against a throwaway test database (in-memory SQLite by default; DATABASE_URL for
PostgreSQL) and a temporary media folder. Never part of the test run.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="sendook-bench-media-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("CELERY_BROKER_URL", None)  # in-process tasks: the whole pipeline in one loop

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench.corpus import generate_corpus  # noqa: E402


def stdlib_parse(corpus: list[bytes]) -> None:
    """The baseline: parse with policy.default, read the usual headers, decode every part."""
    for raw in corpus:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID", "References"):
            message.get(name)
        for part in message.walk():
            if part.is_multipart():
                continue
            try:
                part.get_content()
            except (LookupError, UnicodeError, KeyError, ValueError):
                part.get_payload(decode=True)


def stdlib_bare(corpus: list[bytes]) -> None:
    for raw in corpus:
        email.message_from_bytes(raw, policy=email.policy.default)


def best_of(runs: int, function, corpus: list[bytes]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall, cpu) seconds of the fastest of `runs` runs."""
    timings = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        function(corpus)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def ses_notification(raw: bytes, recipients: list[str]) -> str:
    return json.dumps(
        {
            "notificationType": "Received",
            "mail": {"messageId": "bench", "destination": recipients},
            "receipt": {
                "recipients": recipients,
                "spfVerdict": {"status": "PASS"},
                "dkimVerdict": {"status": "PASS"},
                "dmarcVerdict": {"status": "PASS"},
                "spamVerdict": {"status": "PASS"},
                "virusVerdict": {"status": "PASS"},
                "action": {"type": "SNS", "encoding": "BASE64"},
            },
            "content": base64.b64encode(raw).decode("ascii"),
        }
    )


def run_pipeline(corpus: list[bytes]) -> tuple[tuple[float, float], dict[str, int]]:
    from inboxes.models import Inbox, Organization
    from messages.models import InboundEmail, Message, Thread
    from messages.services import receive as receiving
    from messages.tests.inbound.ses.sns_testing import (
        TOPIC_ARN,
        build_notification,
        create_test_pki,
        serve_certificate,
        sign_sns_message,
    )
    from sendook.events.models import Event

    organization = Organization.objects.create(name="Bench")
    Inbox.objects.create(organization=organization, email="inbox@sendook.dev", name="Bench")
    recipients = ["inbox@sendook.dev"]

    pki = create_test_pki()
    bodies = [
        json.dumps(
            sign_sns_message(
                build_notification(ses_notification(raw, recipients)), key=pki.leaf_key
            )
        )
        for raw in corpus
    ]
    warmup = json.dumps(
        sign_sns_message(
            build_notification(ses_notification(generate_corpus(1, seed=999)[0], recipients)),
            key=pki.leaf_key,
        )
    )

    parse_calls = 0
    real_parse = receiving.parse_email

    def counting_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal parse_calls
        parse_calls += 1
        return real_parse(*args, **kwargs)

    receiving.parse_email = counting_parse  # type: ignore[assignment]
    client = Client()
    with serve_certificate(pki) as server:
        settings.SENDOOK_SES_TOPIC_ARNS = [TOPIC_ARN]
        settings.SENDOOK_SNS_CERT_CONNECT_TO = server.connect_to
        settings.SENDOOK_SNS_CA_BUNDLE = server.ca_bundle
        # SES inlines mail up to 150 KB (bigger goes through S3); the corpus has a few larger
        # messages, posted inline anyway so that S3 round trips stay out of the timing.
        settings.SENDOOK_SNS_MAX_BODY_BYTES = 8 * 1024 * 1024
        assert client.post("/webhooks/ses", warmup, content_type="text/plain").status_code == 200
        parse_calls = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            response = client.post("/webhooks/ses", body, content_type="text/plain")
            assert response.status_code == 200, response.content
        elapsed = (time.perf_counter() - wall, time.process_time() - cpu)
    receiving.parse_email = real_parse  # type: ignore[assignment]

    records = InboundEmail.objects.exclude(provider_notification_id="")
    counts = {
        "parse_calls": parse_calls,
        "records": records.count() - 1,  # minus the warm-up
        "processed": records.filter(status="processed").count() - 1,
        "quarantined": records.filter(status="quarantined").count(),
        "failed": records.filter(status="failed").count(),
        "messages": Message.objects.count() - 1,
        "threads": Thread.objects.count(),
        "events": Event.objects.filter(type="message.received").count() - 1,
    }
    return elapsed, counts


def run_verification(corpus: list[bytes], rounds: int = 3) -> dict[str, Any]:
    """msg/s through the SMTP listener's store path with and without DKIM/SPF/DMARC."""
    from email.utils import parseaddr

    from inboxes.models import Inbox, Organization
    from inboxes.tests.dns_server import loopback_dns
    from messages.inbound.smtp import _store
    from messages.models import Message
    from messages.services import receive as receiving
    from messages.tests.trust.conftest import new_key, sign, txt

    organization = Organization.objects.create(name="Bench verification")
    key = new_key(2048)
    signed = []
    senders = []
    for raw in corpus:
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        from_line = next(
            (line for line in head.splitlines() if line.lower().startswith("from:")), ""
        )
        sender = parseaddr(from_line[5:])[1] or "someone@example.com"
        senders.append(sender)
        signed.append(sign(raw, key, domain=sender.rpartition("@")[2], selector="bench"))
    real_verdicts = receiving._verdicts

    def unverified(record, parsed):  # type: ignore[no-untyped-def]
        return dict(record.verdicts or {})  # what the pipeline did before Sendook checked

    timings: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    verdicts: dict[str, int] = {}
    with loopback_dns() as server:
        settings.SENDOOK_DNS_RESOLVER = server.address
        for domain in {sender.rpartition("@")[2] for sender in senders}:
            server.add(f"bench._domainkey.{domain}", "TXT", txt(key.dns_record))
            server.add(domain, "TXT", txt("v=spf1 ip4:127.0.0.1 -all"))
            server.add(f"_dmarc.{domain}", "TXT", txt("v=DMARC1; p=reject"))
        for index in range(rounds):
            for mode in ("on", "off") if index % 2 == 0 else ("off", "on"):
                address = f"verify-{mode}-{index}@sendook.dev"
                Inbox.objects.create(organization=organization, email=address, name=address)
                receiving._verdicts = real_verdicts if mode == "on" else unverified  # type: ignore[assignment]
                wall, cpu = time.perf_counter(), time.process_time()
                for raw, sender in zip(signed, senders, strict=True):
                    facts = {"client_ip": "127.0.0.1", "helo": "mx.bench", "mail_from": sender}
                    _store(raw, [address], facts)
                timings[mode].append((time.perf_counter() - wall, time.process_time() - cpu))
                if mode == "on":
                    for row in Message.objects.filter(inbox__email=address).values("verdicts"):
                        key_ = "/".join(
                            row["verdicts"].get(k, "-") for k in ("spf", "dkim", "dmarc")
                        )
                        verdicts[key_] = verdicts.get(key_, 0) + 1
        receiving._verdicts = real_verdicts  # type: ignore[assignment]
        queries = len(server.queries)
    n = len(corpus)
    on, off = min(timings["on"]), min(timings["off"])
    return {
        "on": n / on[0], "off": n / off[0], "ratio": off[0] / on[0],
        "on_cpu": n / on[1], "off_cpu": n / off[1], "ratio_cpu": off[1] / on[1],
        "verdicts": verdicts, "queries": queries, "messages": n,
    }  # fmt: skip


def run(count: int = 300, seed: int = 1) -> list[dict]:
    """Prints the figures and returns them as data (pipeline vs stdlib parse, wall and CPU)."""
    corpus = generate_corpus(count, seed=seed)
    size = sum(len(raw) for raw in corpus)

    baseline_before = best_of(3, stdlib_parse, corpus)
    bare = best_of(3, stdlib_bare, corpus)

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        elapsed, counts = run_pipeline(corpus)
        verification = run_verification(corpus)
        vendor = connection.vendor
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    # The machine is shared: measure the baseline on both sides of the pipeline run.
    baseline_after = best_of(3, stdlib_parse, corpus)
    baseline = min(baseline_before, baseline_after)

    n = len(corpus)
    # Each message parsed exactly once, and every one stored or quarantined (none lost).
    assert counts["parse_calls"] == n, counts
    assert counts["records"] == n, counts
    assert counts["processed"] + counts["quarantined"] == n, counts
    assert counts["failed"] == 0, counts
    assert counts["events"] == counts["messages"], counts

    print(f"corpus: {n} messages, {size / 1024:.0f} KiB, seed {seed}; database: {vendor}")
    print(f"{'':58s} {'wall msg/s':>10s} {'CPU msg/s':>10s}")
    rows = [
        ("pipeline (SNS notification in -> stored, threaded, event)", elapsed),
        ("stdlib parse + decode parts (baseline)", baseline),
        ("stdlib message_from_bytes only", bare),
    ]
    for label, (wall, cpu) in rows:
        print(f"{label:58s} {n / wall:10.1f} {n / cpu:10.1f}")
    print(
        f"ratio pipeline / baseline: wall {baseline[0] / elapsed[0]:.2f}x, "
        f"CPU {baseline[1] / elapsed[1]:.2f}x (target >= 0.4x)"
    )
    print("counts: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
    print(
        f"{'SMTP store path, DKIM+SPF+DMARC verified (loopback DNS)':58s} "
        f"{verification['on']:10.1f} {verification['on_cpu']:10.1f}\n"
        f"{'SMTP store path, verification off':58s} "
        f"{verification['off']:10.1f} {verification['off_cpu']:10.1f}\n"
        f"ratio verified / unverified: wall {verification['ratio']:.2f}x, "
        f"CPU {verification['ratio_cpu']:.2f}x (target >= 0.5x); "
        f"{verification['queries']} DNS queries; verdicts spf/dkim/dmarc: "
        + ", ".join(f"{k}={v}" for k, v in sorted(verification["verdicts"].items()))
    )
    return [
        {
            "name": f"inbound: DKIM+SPF+DMARC verified vs unverified (wall msg/s, {vendor})",
            "figure": round(verification["on"], 1),
            "baseline": round(verification["off"], 1),
            "ratio": round(verification["ratio"], 3),
            "cpu_ratio": round(verification["ratio_cpu"], 3),
            "target": ">= 0.5x",
            "pass": verification["ratio"] >= 0.5,
            "unit": "msg/s",
            "messages": n,
        },
    ] + [
        {
            "name": f"inbound: SNS notification -> stored message ({kind} msg/s, {vendor})",
            "figure": round(n / elapsed[i], 1),
            "baseline": round(n / baseline[i], 1),
            "ratio": round(baseline[i] / elapsed[i], 3),
            "target": ">= 0.4x",
            "pass": baseline[i] / elapsed[i] >= 0.4,
            "unit": "msg/s",
            "messages": n,
        }
        for i, kind in enumerate(("wall", "CPU"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.count, args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
