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
from collections.abc import Callable
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


def measure(
    server: common.Uvicorn,
    streams: list[dict[str, Any]],
    write: Callable[[], dict],
    expect: Callable[[dict], dict[str, list[str]]],
) -> dict[str, Any]:
    """Opens `streams`, reads the server's RSS idle and held, runs `write` (the writer process:
    returns its commits), evaluates the deliveries against `expect(written)`."""
    idle_kib = common.rss_kib(server.pid)
    pool = ClientPool("127.0.0.1", server.port, streams, processes=2)
    try:
        started = time.monotonic()
        answers = pool.wait_connected()
        connect_seconds = time.monotonic() - started
        time.sleep(3)  # let the server settle before reading its RSS
        held_kib = common.rss_kib(server.pid)
        cpu_before, wall_before = common.cpu_seconds(server.pid), time.monotonic()
        clients_before = pool.cpu()
        written = write()
        clients_cpu = (pool.cpu() - clients_before) / (time.monotonic() - wall_before)
        summary, latencies = pool.report(written["commits"], expect(written), wait=30, worst=False)
        cpu_used = common.cpu_seconds(server.pid) - cpu_before
        cpu = cpu_used / (time.monotonic() - wall_before)
    finally:
        pool.close()
    return {
        "answers": answers,
        "connect_seconds": connect_seconds,
        "events": len(written["commits"]),
        "writer_errors": written["errors"],
        "writer_behind": written["behind"],
        "server_cpu": cpu,
        "server_cpu_seconds": cpu_used,
        "clients_cpu": clients_cpu,
        "load_average": os.getloadavg()[0],
        "latencies": latencies,
        "rss_idle_kib": idle_kib,
        "rss_held_kib": held_kib,
        **summary,
    }


def product_phase(
    server: common.Uvicorn, env: dict[str, str], orgs: list[tuple[Any, str]], args: Any
) -> dict[str, Any]:
    marked = [(org, key, marker(org)) for org, key in orgs]
    result = measure(
        server,
        streams_for(marked, args.clients),
        lambda: write_events(env, [org.pk for org, _, _ in marked], args.rate, args.seconds),
        lambda _: {str(n): feed_after(org, after) for n, (org, _, after) in enumerate(marked)},
    )
    return {**result, "orgs": len(orgs)}


def bare_phase(env: dict[str, str], logs: Path, args: Any) -> dict[str, Any]:
    """The same clients and rate on bench/stream_bare.py (no Django): the machine's floor."""
    channel = f"bench-bare-{time.time_ns()}"
    bare_env = {**env, "BENCH_BARE_REDIS": env["CACHE_URL"], "BENCH_BARE_CHANNEL": channel}
    server = common.Uvicorn(bare_env, logs / "bare.log", app="bench.stream_bare:app")
    server.start()
    out = logs / "bare-commits.json"

    def publish() -> dict:
        command = [sys.executable, str(ROOT / "bench" / "stream_roles.py"), "publisher"]
        command += ["--redis", env["CACHE_URL"], "--channel", channel, "--out", str(out)]
        command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
        subprocess.run(command, env=env, cwd=ROOT, check=True, timeout=args.seconds + 60)
        return json.loads(out.read_text())

    streams = [{"path": "/", "tag": 0} for _ in range(args.clients)]
    try:
        result = measure(server, streams, publish, lambda written: {"0": list(written["commits"])})
    finally:
        server.stop()
    return {**result, "orgs": 1}


def latency_row(
    result: dict[str, Any], bare: dict[str, Any] | None, clients: int, rate: float
) -> dict[str, Any]:
    lat = result["latencies"]
    p50, p95, p99 = (round(percentile(lat, f), 1) for f in (0.5, 0.95, 0.99))
    # The bare run is 1 org x clients: the baseline of that row only (None for the spread run).
    bare = bare or {"latencies": [], "server_cpu": 0, "server_cpu_seconds": 0}
    bare_p95 = round(percentile(bare["latencies"], 0.95), 1) if bare["latencies"] else ""
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
        "baseline": bare_p95,
        "ratio": round(p95 / bare_p95, 2) if bare_p95 else "",
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "max": round(lat[-1], 1) if lat else None,
        "target": f"p95 < {TARGET_MS} ms, none lost",
        "pass": ok,
        "unit": "ms",
        "baseline_is": "bench/stream_bare.py: Redis pub/sub -> SSE, no Django, same clients/rate"
        if bare_p95
        else "",
        "deliveries": result["deliveries"],
        "expected_deliveries": result["expected_deliveries"],
        "missing": result["missing"],
        "duplicated": result["duplicated"],
        "out_of_order_streams": result["out_of_order_streams"],
        "cuts": result["cuts"],
        "events": result["events"],
        "server_cpu_percent": round(result["server_cpu"] * 100),
        "server_cpu_us_per_delivery": round(
            result["server_cpu_seconds"] * 1e6 / max(1, result["deliveries"]), 2
        ),
        "baseline_server_cpu_us_per_delivery": round(
            bare["server_cpu_seconds"] * 1e6 / max(1, bare["deliveries"]), 2
        )
        if bare.get("deliveries")
        else None,
        "baseline_server_cpu_percent": round(bare["server_cpu"] * 100),
        "clients_cpu_percent": round(result["clients_cpu"] * 100),
        "load_average_1min": round(result["load_average"], 2),
        "writer_behind_schedule": result["writer_behind"],
    }


def print_latency(label: str, result: dict[str, Any]) -> None:
    lat = result["latencies"]
    p50, p95, p99 = (percentile(lat, f) for f in (0.5, 0.95, 0.99))
    print(
        f"{label}\n"
        f"  {result['events']} events, {result['deliveries']} of {result['expected_deliveries']} "
        f"deliveries (missing {result['missing']}, duplicated {result['duplicated']}, out of "
        f"order streams {result['out_of_order_streams']}, cut {result['cuts']}); latency p50 "
        f"{p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {lat[-1] if lat else 0:.1f} ms; "
        f"uvicorn CPU {result['server_cpu_seconds'] * 1e6 / max(1, result['deliveries']):.1f} "
        f"us per delivery; CPU while writing: uvicorn {result['server_cpu'] * 100:.0f}%, clients "
        f"{result['clients_cpu'] * 100:.0f}% of one core, load {result['load_average']:.1f}; opened in "
        f"{result['connect_seconds']:.1f} s ({result['answers']}); writer late "
        f"{result['writer_behind']}x, errors {result['writer_errors']}",
        flush=True,
    )


def per_stream_kib(result: dict[str, Any]) -> float:
    return (result["rss_held_kib"] - result["rss_idle_kib"]) / max(
        1, result["answers"].get("200", 0)
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
    if args.no_bare:
        bare = {
            "latencies": [],
            "server_cpu": 0,
            "answers": {},
            "rss_idle_kib": 0,
            "rss_held_kib": 0,
        }
    else:
        bare = bare_phase(env, logs, args)
        print_latency(f"bare baseline (bench/stream_bare.py), {args.clients} clients", bare)
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

        one = product_phase(server, env, single, args)
        opened = one["answers"].get("200", 0)
        print(
            f"memory: uvicorn RSS {one['rss_idle_kib'] / 1024:.1f} MiB with 0 streams, "
            f"{one['rss_held_kib'] / 1024:.1f} MiB with {opened} idle streams = "
            f"{per_stream_kib(one):.1f} KiB per stream (bare: {per_stream_kib(bare):.1f} KiB)",
            flush=True,
        )
        rows.append(
            {
                "name": f"stream: {args.clients} concurrent SSE clients held by one uvicorn process",
                "figure": opened,
                "baseline": bare["answers"].get("200", 0),
                "ratio": "",
                "target": f">= {args.clients} open",
                "pass": opened == args.clients and one["cuts"] == 0,
                "unit": "streams",
                "answers": one["answers"],
                "open_seconds": round(one["connect_seconds"], 1),
            }
        )
        rows.append(
            {
                "name": "stream: memory per idle stream (uvicorn RSS delta / streams)",
                "figure": round(per_stream_kib(one), 1),
                "baseline": round(per_stream_kib(bare), 1),
                "ratio": "",
                "target": "(informative)",
                "pass": None,
                "unit": "KiB",
                "rss_0_streams_kib": one["rss_idle_kib"],
                f"rss_{opened}_streams_kib": one["rss_held_kib"],
            }
        )
        rows.append(latency_row(one, bare, args.clients, args.rate))
        print_latency(rows[-1]["name"], one)

        if args.orgs > 1:
            spread = product_phase(server, env, new_orgs(args.orgs, "spread"), args)
            rows.append(latency_row(spread, None, args.clients, args.rate))
            print_latency(rows[-1]["name"], spread)

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
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if not os.environ.get("CACHE_URL", "").startswith("redis://"):
            stack.enter_context(common.own_redis())
            os.environ["CACHE_URL"], os.environ["CELERY_BROKER_URL"] = (
                common.CACHE_URL,
                common.BROKER_URL,
            )
        # The inbound part needs a real broker (a worker parses and delivers).
        os.environ.setdefault(
            "CELERY_BROKER_URL",
            os.environ.get("SENDOOK_TEST_BROKER_URL")
            or os.environ["CACHE_URL"].rsplit("/", 1)[0] + "/1",
        )
        results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
