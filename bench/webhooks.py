"""Webhook delivery throughput: the delivery service against a bare keep-alive HTTP loop.

    python bench/webhooks.py [--count 2000]

Both post the same signed envelopes to the same local receiver (one keep-alive connection).
The receiver runs in its own process. The service side is the whole attempt a worker makes: lock and load the delivery, build and
sign the body, vet the URL against SSRF, post through webhooks.http, and record the attempt
and the delivery's new state, once on one thread and once on --threads threads (a worker's
Celery threads pool). The baseline is http.client reusing one connection, nothing else. Uses DATABASE_URL when set (PostgreSQL), otherwise a throwaway SQLite file.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
os.environ["SENDOOK_WEBHOOK_ALLOW_PRIVATE"] = "true"
os.environ.pop("CELERY_BROKER_URL", None)
if not os.environ.get("DATABASE_URL"):
    os.environ["SENDOOK_VAR_DIR"] = tempfile.mkdtemp(prefix="sendook-bench-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from inboxes.models import Organization  # noqa: E402
from sendook.events.models import EventType  # noqa: E402
from sendook.events.services import build_envelope, record_event  # noqa: E402
from webhooks import signing  # noqa: E402
from webhooks.models import Delivery, Webhook  # noqa: E402
from webhooks.services import delivery  # noqa: E402
from webhooks.services.delivery import queueing  # noqa: E402


def bare_loop(url_port: int, bodies: list[tuple[str, bytes]], secret: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", url_port)
    started = time.perf_counter()
    for event_id, body in bodies:
        headers = signing.headers(secret, msg_id=event_id, timestamp=int(time.time()), body=body)
        conn.request("POST", "/hooks/sendook", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


RECEIVER = """
import sys, time
sys.path.insert(0, {root!r})
from webhooks.tests.receivers import ok, receiver
with receiver(ok()) as hook:
    print(hook.port, flush=True)
    sys.stdin.read()
"""


class ReceiverProcess:
    """The local receiver in its own process, so it does not share the client's GIL."""

    def __enter__(self) -> ReceiverProcess:
        import subprocess

        root = str(Path(__file__).resolve().parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-c", RECEIVER.format(root=root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hooks/sendook"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--threads", type=int, default=4, help="worker concurrency (Celery threads pool)"
    )
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.count, args.threads)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def run(count: int = 2000, threads: int = 4) -> list[dict]:
    """Prints the figures and returns them as data."""

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(name="bench")
    queueing.enqueue_deliveries = lambda pairs: None  # the benchmark makes the attempts itself
    try:
        with ReceiverProcess() as hook:
            secret = signing.generate_secret()
            webhook = Webhook.objects.create(
                organization=organization,
                url=hook.url,
                events=[EventType.MESSAGE_RECEIVED],
                secret=secret,
            )
            with transaction.atomic():
                events = [
                    record_event(
                        organization,
                        event_type=EventType.MESSAGE_RECEIVED,
                        payload={"id": f"msg_{n}", "subject": "Hello", "text": "x" * 500},
                        inbox_id="inbox_bench",
                        message_id=f"msg_{n}",
                    )
                    for n in range(count)
                ]
            ids = list(
                Delivery.objects.filter(webhook=webhook).order_by("pk").values_list("pk", flat=True)
            )
            bodies = [
                (event.public_id, json.dumps(build_envelope(event), separators=(",", ":")).encode())
                for event in events
            ]

            # Warm both paths (connections, caches), then measure. The machine may be shared
            # and its load drift within seconds, so the baseline runs right before and right
            # after each service phase, and each phase is compared with the mean of its two.
            bare_loop(hook.port, bodies[:50], secret)
            bare = [bare_loop(hook.port, bodies, secret)]

            half = count // 2
            sequential = run_deliveries(ids[:half], threads=1)
            bare.append(bare_loop(hook.port, bodies, secret))
            concurrent = run_deliveries(ids[half:], threads=threads)
            bare.append(bare_loop(hook.port, bodies, secret))
    finally:
        Organization.objects.filter(pk=organization.pk).delete()

    base_rate = len(bare) * count / sum(bare)
    one_base = 2 * count / (bare[0] + bare[1])
    many_base = 2 * count / (bare[1] + bare[2])
    one_rate = half / sequential
    many_rate = (count - half) / concurrent
    print(f"database: {connection.vendor}; envelopes of {len(bodies[0][1])} bytes")
    print(
        f"bare keep-alive loop, 1 connection : {base_rate:7.0f} posts/s ({count} posts, 3 runs: "
        + ", ".join(f"{count / elapsed:.0f}" for elapsed in bare)
        + ")"
    )
    print(
        f"delivery service, 1 thread         : {one_rate:7.0f} deliveries/s "
        f"({one_rate / one_base:.2f}x, {half} deliveries)"
    )
    print(
        f"delivery service, {threads} threads        : {many_rate:7.0f} deliveries/s "
        f"({many_rate / many_base:.2f}x, {count - half} deliveries; target >= 0.5x)"
    )
    return [
        {
            "name": f"webhooks: delivery service, {n} thread{'s' if n > 1 else ''} (deliveries/s, {connection.vendor})",
            "figure": round(rate, 1),
            "baseline": round(base, 1),
            "ratio": round(rate / base, 3),
            "target": target,
            "pass": passed,
            "unit": "deliveries/s",
        }
        for n, rate, base, target, passed in (
            (1, one_rate, one_base, "(informative)", None),
            (threads, many_rate, many_base, ">= 0.5x", many_rate / many_base >= 0.5),
        )
    ]


def run_deliveries(ids: list[int], *, threads: int) -> float:
    """Deliver `ids` as a worker with `threads` pool threads would; returns elapsed seconds."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    chunks = [ids[index::threads] for index in range(threads)]

    def work(chunk: list[int]) -> None:
        # One call per queued task, as the worker's threads would get them. A call may deliver
        # a batch of the webhook's pending deliveries, so later calls can find theirs done:
        # the outcome is checked on the rows below, not per call.
        try:
            for pk in chunk:
                delivery.deliver(pk, expected_attempts=0)
        finally:
            if threads > 1:
                connections.close_all()

    started = time.perf_counter()
    if threads == 1:
        work(ids)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, chunks))
    elapsed = time.perf_counter() - started
    # Every delivery of this half made exactly one attempt, and it succeeded (a batch may have
    # taken along deliveries of the other half; those are counted there).
    done = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SUCCEEDED, attempts=1)
    assert done.count() == len(ids), "not every delivery succeeded in one attempt"
    return elapsed


if __name__ == "__main__":
    main()
