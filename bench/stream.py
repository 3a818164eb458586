"""Event stream benchmark: GET /v1/events/stream held by ONE uvicorn process on PostgreSQL + Redis.

    python bench/stream.py [--clients 1000] [--rate 50] [--seconds 15] [--orgs 10] [--mails 40]

1. Memory: RSS of the uvicorn process (sendook.asgi, one process, no workers) with 0 streams
   (after one warm-up stream came and went) and with --clients idle streams; per stream = the
   difference divided by --clients.
2. Latency, one organization: --clients streams of one organization stay open while a writer
   process records events through the real write path (bench/stream_roles.py writer:
   record_event in its own transaction; the commit announces it over Redis) at --rate events/s
   for --seconds; each event is stamped at commit, each delivery at the client's socket read,
   both with time.time() on this machine. Every delivery counts: --clients x events. Also
   checked: every stream got every event once, in feed order.
3. Latency, --orgs organizations: the same --clients streams spread evenly over --orgs
   organizations and the same --rate events/s round-robin over them, so each event goes to
   clients/orgs streams (the fan-out work per event shrinks by that factor).
4. Inbound mail end to end (bench/stream_inbound.py): signed SNS notifications POSTed to
   /webhooks/ses on gunicorn, parsed by a real Celery worker; from the POST to a stream
   client's `message.received` and to the webhook receiver's POST.

The clients (bench/sse_clients.py) are raw asyncio sockets, two processes; the writer and the
clients share the machine's 2 cores with the server, so the latencies include their scheduling.
The database named by DATABASE_URL is migrated and written to: never point it at real data.
Redis: CACHE_URL when it is redis:// (bench/run.py's private server), else a private one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from bench.stream_clients import ClientPool, percentile  # noqa: E402
from reliability import common  # noqa: E402

STREAM = "/v1/events/stream"
TARGET_MS = 100  # AgentMail's published "typically under 100 ms"


def server_env(clients: int) -> dict[str, str]:
    return {
        **os.environ,
        "SENDOOK_STREAM_URL": os.environ["CACHE_URL"],
        "SENDOOK_STREAM_MAX_PER_ORG": str(clients + 100),
        "SENDOOK_WEBHOOK_ALLOW_PRIVATE": "true",
        "SENDOOK_API_RATE_LIMIT": "100000000/m",
        "DEBUG": "false",
    }


def write_events(env: dict[str, str], org_pks: list[int], rate: float, seconds: float) -> dict:
    out = Path(tempfile.mkdtemp(prefix="sendook-writer-")) / "commits.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "stream_roles.py"),
            "writer",
            "--orgs",
            ",".join(map(str, org_pks)),
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
            "--out",
            str(out),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=seconds + 120,
    )
    return json.loads(out.read_text())


def marker(organization: Any) -> str:
    """An event written before the streams open: they start `after` it, so a stream's first
    event is the writer's first, however long the streams took to open."""
    from django.db import transaction

    from sendook.events.models import EventType
    from sendook.events.services import record_event

    with transaction.atomic():
        return record_event(
            organization, event_type=EventType.MESSAGE_RECEIVED, payload={"marker": True}
        ).public_id


def feed_after(organization: Any, after: str) -> list[str]:
    """The organization's event ids after `after`, in feed (commit) order."""
    from sendook.events.models import Event
    from sendook.events.services import sequence_events

    sequence_events(organization)
    start = Event.objects.get(public_id=after).feed_seq
    return list(
        Event.objects.filter(organization=organization, feed_seq__gt=start)
        .order_by("feed_seq")
        .values_list("public_id", flat=True)
    )


def new_orgs(count: int, label: str) -> list[tuple[Any, str]]:
    from inboxes.services import create_organization

    run = time.time_ns()
    return [
        (org, key.secret)
        for org, key, _ in (
            create_organization(name=f"bench-stream-{label}-{run}-{n}") for n in range(count)
        )
    ]


def streams_for(orgs: list[tuple[Any, str, str]], clients: int) -> list[dict[str, Any]]:
    """`clients` streams spread evenly over `orgs` ((organization, key, marker id) each)."""
    return [
        {
            "path": f"{STREAM}?after={orgs[n % len(orgs)][2]}",
            "headers": {"Authorization": f"Bearer {orgs[n % len(orgs)][1]}"},
            "tag": n % len(orgs),
        }
        for n in range(clients)
    ]


def latency_phase(
    server: common.Uvicorn,
    env: dict[str, str],
    orgs: list[tuple[Any, str]],
    args: argparse.Namespace,
    measure_memory: bool = False,
) -> dict[str, Any]:
    marked = [(org, key, marker(org)) for org, key in orgs]
    idle_kib = common.rss_kib(server.pid)
    pool = ClientPool("127.0.0.1", server.port, streams_for(marked, args.clients), processes=2)
    try:
        started = time.monotonic()
        answers = pool.wait_connected()
        connect_seconds = time.monotonic() - started
        time.sleep(3)  # let the server settle before reading its RSS
        held_kib = common.rss_kib(server.pid)
        cpu_before, wall_before = common.cpu_seconds(server.pid), time.monotonic()
        written = write_events(env, [org.pk for org, _, _ in marked], args.rate, args.seconds)
        expected = {str(n): feed_after(org, after) for n, (org, _, after) in enumerate(marked)}
        summary, latencies = pool.report(written["commits"], expected, wait=30, worst=False)
        cpu = (common.cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before)
    finally:
        pool.close()
    result = {
        "orgs": len(orgs),
        "answers": answers,
        "connect_seconds": connect_seconds,
        "events": len(written["commits"]),
        "writer_errors": written["errors"],
        "writer_behind": written["behind"],
        "server_cpu": cpu,
        "latencies": latencies,
        **summary,
    }
    if measure_memory:
        result["rss_idle_kib"], result["rss_held_kib"] = idle_kib, held_kib
    return result


def latency_row(result: dict[str, Any], clients: int, rate: float) -> dict[str, Any]:
    lat = result["latencies"]
    p50, p95, p99 = (round(percentile(lat, f), 1) for f in (0.5, 0.95, 0.99))
    where = (
        "1 org" if result["orgs"] == 1 else f"{result['orgs']} orgs x {clients // result['orgs']}"
    )
    ok = (
        p95 < TARGET_MS
        and result["missing"] == 0
        and result["duplicated"] == 0
        and result["out_of_order_streams"] == 0
    )
    return {
        "name": f"stream: event -> client at {rate:g} events/s, {clients} clients, {where} (ms p95)",
        "figure": p95,
        "baseline": "",
        "ratio": "",
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "max": round(lat[-1], 1) if lat else None,
        "target": f"p95 < {TARGET_MS} ms, none lost",
        "pass": ok,
        "unit": "ms",
        "deliveries": result["deliveries"],
        "expected_deliveries": result["expected_deliveries"],
        "missing": result["missing"],
        "duplicated": result["duplicated"],
        "out_of_order_streams": result["out_of_order_streams"],
        "cuts": result["cuts"],
        "events": result["events"],
        "server_cpu_percent": round(result["server_cpu"] * 100),
        "writer_behind_schedule": result["writer_behind"],
    }


def print_latency(result: dict[str, Any], row: dict[str, Any]) -> None:
    print(
        f"{row['name']}\n"
        f"  {result['events']} events, {result['deliveries']} of {result['expected_deliveries']} "
        f"deliveries (missing {result['missing']}, duplicated {result['duplicated']}, out of "
        f"order streams {result['out_of_order_streams']}, cut {result['cuts']}); latency p50 "
        f"{row['p50']} ms, p95 {row['p95']} ms, p99 {row['p99']} ms, max {row['max']} ms; "
        f"uvicorn CPU {row['server_cpu_percent']}% of one core; opened in "
        f"{result['connect_seconds']:.1f} s ({result['answers']}); writer late "
        f"{result['writer_behind']}x, errors {result['writer_errors']}",
        flush=True,
    )


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    common.ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    env = server_env(args.clients)
    logs = Path(tempfile.mkdtemp(prefix="sendook-bench-stream-"))
    server = common.Uvicorn(env, logs / "uvicorn.log")
    server.start()
    rows: list[dict[str, Any]] = []
    try:
        single = new_orgs(1, "one")
        warm = ClientPool(
            "127.0.0.1", server.port, streams_for([(*single[0], marker(single[0][0]))], 1)
        )
        print(f"warm-up stream: {warm.wait_connected()}", flush=True)
        warm.close()
        time.sleep(1)

        one = latency_phase(server, env, single, args, measure_memory=True)
        per_stream = (one["rss_held_kib"] - one["rss_idle_kib"]) / args.clients
        print(
            f"memory: uvicorn RSS {one['rss_idle_kib'] / 1024:.1f} MiB with 0 streams, "
            f"{one['rss_held_kib'] / 1024:.1f} MiB with {one['answers'].get('200', 0)} idle "
            f"streams = {per_stream:.1f} KiB per stream",
            flush=True,
        )
        rows.append(
            {
                "name": f"stream: {args.clients} concurrent SSE clients held by one uvicorn process",
                "figure": one["answers"].get("200", 0),
                "baseline": "",
                "ratio": "",
                "target": f">= {args.clients} open",
                "pass": one["answers"].get("200", 0) == args.clients and one["cuts"] == 0,
                "unit": "streams",
                "answers": one["answers"],
                "open_seconds": round(one["connect_seconds"], 1),
            }
        )
        rows.append(
            {
                "name": "stream: memory per idle stream (uvicorn RSS delta / streams)",
                "figure": round(per_stream, 1),
                "baseline": "",
                "ratio": "",
                "target": "(informative)",
                "pass": None,
                "unit": "KiB",
                "rss_0_streams_kib": one["rss_idle_kib"],
                f"rss_{args.clients}_streams_kib": one["rss_held_kib"],
            }
        )
        rows.append(latency_row(one, args.clients, args.rate))
        print_latency(one, rows[-1])

        if args.orgs > 1:
            spread = latency_phase(server, env, new_orgs(args.orgs, "spread"), args)
            rows.append(latency_row(spread, args.clients, args.rate))
            print_latency(spread, rows[-1])

        if args.mails:
            from bench.stream_inbound import run_inbound

            rows.extend(run_inbound(server, env, logs, args.mails))
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50, help="events per second, in all")
    parser.add_argument("--seconds", type=float, default=15, help="how long the writer writes")
    parser.add_argument("--orgs", type=int, default=10, help="organizations of the spread run")
    parser.add_argument("--mails", type=int, default=40, help="inbound mails (0: skip)")
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if not os.environ.get("CACHE_URL", "").startswith("redis://"):
            stack.enter_context(common.own_redis())
            os.environ["CACHE_URL"], os.environ["CELERY_BROKER_URL"] = (
                common.CACHE_URL,
                common.BROKER_URL,
            )
        results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
