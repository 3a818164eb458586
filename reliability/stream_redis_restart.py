"""Reliability: Redis killed and restarted under 200 open event streams; nothing lost or repeated.

One uvicorn process (sendook.asgi) serves GET /v1/events/stream with fan-out through the
script's own redis-server (which is also the cache and the stream slots' store). 200 streams
(--orgs organizations, evenly) open from one client process (bench/sse_clients.py: raw sockets,
an EventSource-like reader: when cut or refused it reconnects to the same URL with
Last-Event-ID after the server's retry delay). Each starts after a marker event, so all of an
organization's streams must receive the same events. A writer process
(bench/stream_roles.py writer: record_event through the real write path, each in its own
transaction) writes --rate events/s round-robin over the organizations for --seconds; at
--kill-at s Redis is SIGKILLed, and --outage s later restarted empty on the same port; at
--kill-server-at s the uvicorn process itself is SIGKILLed and started again, so every stream
is cut and must resume from its Last-Event-ID (the Redis fault alone cuts none: the hub polls).

Checked at the end against the feed in the database (feed_seq order after the marker): every
stream received every event of its organization exactly once, in feed order. Figures: events
per stream, missing, duplicated, streams out of order, reconnections, the longest any event
took to reach every stream during the outage, and how long after Redis came back every stream
held every event committed before that moment ("recovered in").
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--orgs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100, help="events per second, in all")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kill-at", type=float, default=20)
    parser.add_argument("--outage", type=float, default=5)
    parser.add_argument(
        "--kill-server-at",
        type=float,
        default=40,
        help="also SIGKILL uvicorn then (and start it again), so that every stream is cut and "
        "resumes with Last-Event-ID; 0: only the Redis fault",
    )
    parser.add_argument(
        "--no-after",
        action="store_true",
        help="open the streams without ?after= (they start at the head, right after the marker), "
        "so a reconnect carries only Last-Event-ID",
    )
    parser.add_argument("--timeout", type=float, default=120, help="to catch up at the end")
    args = parser.parse_args()
    port = common.free_port()
    with common.own_redis(port) as redis_process:
        return run(args, port, redis_process)


def run(args: argparse.Namespace, port: int, redis_process: subprocess.Popen) -> int:
    from bench.stream import feed_after, marker, new_orgs, streams_for
    from bench.stream_clients import ClientPool, percentile

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    common.configure(
        SENDOOK_STREAM_URL=f"redis://127.0.0.1:{port}/2",
        SENDOOK_STREAM_MAX_PER_ORG=str(args.streams + 100),
        DEBUG="false",
    )
    common.setup_django()
    tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-stream-"))
    orgs = [(org, key, marker(org)) for org, key in new_orgs(args.orgs, "redis-restart")]
    server = common.Uvicorn(common.worker_env(), tmp / "uvicorn.log")
    server.start()
    streams = streams_for(orgs, args.streams)
    if args.no_after:
        for stream in streams:
            stream["path"] = stream["path"].split("?")[0]
    pool = ClientPool("127.0.0.1", server.port, streams, reconnect=True)
    try:
        answers = pool.wait_connected()
        print(f"  {args.streams} streams opened: {answers}", flush=True)
        out = tmp / "commits.json"
        writer = subprocess.Popen(
            [
                sys.executable,
                str(common.ROOT / "bench" / "stream_roles.py"),
                "writer",
                "--orgs",
                ",".join(str(org.pk) for org, _, _ in orgs),
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
                "--out",
                str(out),
            ],
            env=common.worker_env(),
            cwd=common.ROOT,
            start_new_session=True,
        )
        time.sleep(args.kill_at)
        common.stop(redis_process, signal.SIGKILL)
        killed_at = time.time()
        print(f"  Redis killed at {args.kill_at:g} s", flush=True)
        time.sleep(args.outage)
        redis_process = common.start_redis(port)
        back_at = time.time()
        print(f"  Redis back after {back_at - killed_at:.1f} s (empty)", flush=True)
        if args.kill_server_at > args.kill_at + args.outage:
            time.sleep(max(0.0, args.kill_server_at - (time.time() - killed_at + args.kill_at)))
            common.stop(server.process, signal.SIGKILL)
            server.start()
            print(f"  uvicorn SIGKILLed at {args.kill_server_at:g} s and started again", flush=True)
        writer.wait(timeout=args.seconds + 120)
        written = json.loads(out.read_text())
        expected = {str(n): feed_after(org, after) for n, (org, _, after) in enumerate(orgs)}
        summary, latencies = pool.report(
            written["commits"], expected, wait=args.timeout, worst=True
        )
    finally:
        pool.close()
        server.stop()
        common.stop(redis_process)
    commits, worst = written["commits"], summary.get("worst_ms", {})
    during = [worst[e] for e, at in commits.items() if killed_at <= at <= back_at and e in worst]
    before_back = [at + worst[e] / 1000 for e, at in commits.items() if at < back_at and e in worst]
    recovered = max(0.0, max(before_back, default=back_at) - back_at)
    per_stream = {tag: len(ids) for tag, ids in expected.items()}
    print(
        f"  writer: {len(commits)} events committed, errors {written['errors']}; feed: "
        f"{per_stream} events per organization; server log: {server.log}",
        flush=True,
    )
    print(
        f"  deliveries {summary['deliveries']} of {summary['expected_deliveries']}; connections "
        f"{summary['connections']} ({summary['cuts']} cuts, refusals {summary['refusals']}); "
        f"latency p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} "
        f"ms, max {latencies[-1] if latencies else 0:.0f} ms; an event committed during the "
        f"outage reached every stream within {max(during, default=0) / 1000:.1f} s",
        flush=True,
    )
    ok = (
        answers.get("200", 0) == args.streams
        and summary["missing"] == 0
        and summary["duplicated"] == 0
        and summary["stray"] == 0
        and summary["out_of_order_streams"] == 0
        and min(per_stream.values()) > 0
    )
    # The figure, on the last line.
    print(
        f"{args.streams} streams, {min(per_stream.values()):,} events each, "
        f"{summary['missing']} missing, {summary['duplicated']} duplicated, "
        f"{summary['out_of_order_streams']} out of order, "
        f"{summary['connections'] - args.streams} reconnections, recovered in {recovered:.1f} s "
        f"pass={'yes' if ok else 'no'}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
