"""The processes around the event stream benchmark and its Redis fault script, each in its own
process so none shares the stream server's or the clients' GIL:

    python bench/stream_roles.py writer --orgs 12,13 --rate 50 --seconds 15 --out FILE
        records events through the real write path (record_event in its own transaction, so
        the commit announces it to every hub) at a steady rate, round-robin over the
        organizations, and stamps each one's commit time (time.time(), taken in an on_commit
        callback that runs right after COMMIT, before the announcement); writes
        {"commits": {event id: time}, "errors": {...}, "behind": n}. Errors (e.g. Redis gone
        while announcing) are counted and the writing goes on, as a busy app would.
    python bench/stream_roles.py publisher --redis URL --channel NAME --rate 50 --seconds 15 --out FILE
        the bare baseline's writer (bench/stream_bare.py): PUBLISH only, stamped just before.
    python bench/stream_roles.py receiver
        a webhook receiver on loopback: prints its port, answers 200 to every POST and stamps
        its arrival; on stdin's end prints [[time, envelope], ...].
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def writer(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
    import django

    django.setup()
    from django.db import close_old_connections, transaction

    from inboxes.models import Organization
    from sendook.events.models import EventType
    from sendook.events.services import record_event

    by_pk = Organization.objects.in_bulk([int(pk) for pk in args.orgs.split(",")])
    organizations = [by_pk[int(pk)] for pk in args.orgs.split(",")]
    # A message.received-sized payload (a real one carries the message's JSON: ~1 KB).
    text = "Hello from the stream benchmark. " * (args.payload_bytes // 33 + 1)
    commits: dict[str, float] = {}
    errors: dict[str, int] = {}
    behind = 0
    interval = 1 / args.rate
    started = time.monotonic()
    n = 0
    while True:
        due = started + n * interval
        if due - started >= args.seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.05:
            behind += 1  # this write started more than 50 ms late
        organization = organizations[n % len(organizations)]
        stamp: list[float] = []
        event = None
        try:
            with transaction.atomic():
                transaction.on_commit(lambda stamp=stamp: stamp.append(time.time()))
                event = record_event(
                    organization,
                    event_type=EventType.MESSAGE_RECEIVED,
                    payload={
                        "id": f"msg_bench{n}",
                        "subject": f"Stream benchmark {n}",
                        "text": text[: args.payload_bytes],
                    },
                    inbox_id="inb_bench",
                    message_id=f"msg_bench{n}",
                )
        except Exception as exc:  # the process edge: count it, keep writing
            name = type(exc).__name__
            errors[name] = errors.get(name, 0) + 1
            close_old_connections()
        if event is not None and stamp:
            commits[event.public_id] = stamp[0]
        n += 1
    Path(args.out).write_text(json.dumps({"commits": commits, "errors": errors, "behind": behind}))


def publisher(args: argparse.Namespace) -> None:
    """The bare baseline's writer: PUBLISH an envelope-sized JSON message at the same rate,
    stamped just before it is published (there is no commit to wait for)."""
    import redis

    client = redis.Redis.from_url(args.redis)
    text = "Hello from the stream benchmark. " * (args.payload_bytes // 33 + 1)
    commits: dict[str, float] = {}
    interval = 1 / args.rate
    started = time.monotonic()
    n = 0
    while n * interval < args.seconds:
        delay = started + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        event_id = f"evt_bare{started:.0f}x{n}"
        message = {
            "id": event_id,
            "event": "message.received",
            "payload": {
                "id": f"msg_bench{n}",
                "subject": f"Bare {n}",
                "text": text[: args.payload_bytes],
            },
        }
        commits[event_id] = time.time()
        client.publish(args.channel, json.dumps(message, separators=(",", ":")))
        n += 1
    Path(args.out).write_text(json.dumps({"commits": commits, "errors": {}, "behind": 0}))


def receiver() -> None:
    arrivals: list[tuple[float, object]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                arrivals.append((at, json.loads(body or b"null")))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()
    with lock:
        print(json.dumps(arrivals), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role", required=True)
    write = roles.add_parser("writer")
    write.add_argument("--orgs", required=True, help="organization pks, comma-separated")
    write.add_argument("--rate", type=float, default=50, help="events per second, in all")
    write.add_argument("--seconds", type=float, default=15)
    write.add_argument("--payload-bytes", type=int, default=800)
    write.add_argument("--out", required=True)
    publish = roles.add_parser("publisher")
    publish.add_argument("--redis", required=True)
    publish.add_argument("--channel", required=True)
    publish.add_argument("--rate", type=float, default=50)
    publish.add_argument("--seconds", type=float, default=15)
    publish.add_argument("--payload-bytes", type=int, default=800)
    publish.add_argument("--out", required=True)
    roles.add_parser("receiver")
    args = parser.parse_args()
    if args.role == "writer":
        writer(args)
    elif args.role == "publisher":
        publisher(args)
    else:
        receiver()


if __name__ == "__main__":
    main()
