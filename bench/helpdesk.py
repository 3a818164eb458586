"""Helpdesk benchmark: the staff UI's Mine view and a thread page at 10,000 threads (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sendook_bench CACHE_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/helpdesk.py [--threads 10000] [--seconds 4]

Issue 14 makes the staff UI a helpdesk: threads carry a status (open/pending/closed/snoozed) and
an assignee (a member or an API key). This measures, on an organization of `--threads` threads
(two inboxes, 2 messages each, one long thread of 12 messages with notes; statuses and assignees
spread over them: a tenth assigned to the measured member, a tenth to an agent key):

  * requests/s of `/threads?view=mine` (the member's Mine view across inboxes, 50 per page),
  * requests/s of `/threads/<id>` (the long thread: its messages, notes, controls, reply form),

each against the requests/s of the API's thread list `GET /v1/inboxes/{id}/threads` (50 per
page) measured in the same run, the same way as search.py's UI figure: Django's in-process test
client, one request after another, so neither side pays for HTTP. Target: page >= 0.5 x API.
Also records each page's p50/p95/p99 latency (the issue asks for pages in well under 100 ms).

Before the helpdesk views exist, `/threads?view=mine` answers the plain thread list: the figure
is still measured and its row says `"view": "fallback"` (detected by the newest thread, which is
unassigned, appearing on the page); once the Mine view is merged the row says `"view": "mine"`.
The data set is generated once (organization "bench-helpdesk") and reused by later runs.
The database named by DATABASE_URL is migrated and written to: do not point it at real data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_bench")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/8")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("CELERY_BROKER_URL", None)

ORG_NAME = "bench-helpdesk"
MEMBER_EMAIL = "agent.dana@bench-helpdesk.test"
PER_THREAD = 2
LONG_THREAD_MESSAGES = 12
LONG_THREAD_NOTES = 3
LONG_SUBJECT = "Refund for order 4711 (long thread)"
SENDERS = ["Alice Example", "Bob Müller", "Chloé Petrov", "Dmitri Tanaka", "Eva García"]


def generate(total: int) -> Any:
    """The organization with `total` threads; reused when it is already there at that size."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from inboxes.models import Inbox, Membership, Organization
    from inboxes.services import create_api_key
    from messages.models import Message, Note, Thread, ThreadStatus

    org = Organization.objects.filter(name=ORG_NAME).first()
    if org is not None and Thread.objects.filter(organization=org).count() == total:
        return org
    if org is not None:
        org.delete()
    rng = random.Random(14)
    org = Organization.objects.create(name=ORG_NAME)
    inboxes = [
        Inbox.objects.create(
            organization=org, email=f"desk{n}@bench.sendook.test", name=f"Desk {n}"
        )
        for n in range(2)
    ]
    user, _ = get_user_model().objects.get_or_create(
        username=MEMBER_EMAIL, defaults={"email": MEMBER_EMAIL, "first_name": "Dana"}
    )
    member = Membership.objects.create(organization=org, user=user)
    agent = create_api_key(org, name="Support bot").api_key
    now = timezone.now()
    started = time.perf_counter()
    batch = 2500
    for start in range(0, total, batch):
        count = min(batch, total - start)
        with transaction.atomic():
            threads = []
            for n in range(start, start + count):
                roll = rng.random()
                status = (
                    ThreadStatus.OPEN
                    if roll < 0.6
                    else ThreadStatus.PENDING
                    if roll < 0.75
                    else ThreadStatus.CLOSED
                    if roll < 0.9
                    else ThreadStatus.SNOOZED
                )
                who = rng.random()
                threads.append(
                    Thread(
                        organization=org,
                        inbox=inboxes[n % 2],
                        subject=f"Order {n}: where is my parcel?",
                        status=status,
                        snoozed_until=now + timedelta(days=3)
                        if status == ThreadStatus.SNOOZED
                        else None,
                        # The newest thread (the last one) stays unassigned: the fallback check.
                        assignee_member=member if who < 0.1 and n != total - 1 else None,
                        assignee_key=agent if 0.1 <= who < 0.2 else None,
                        labels=["orders"] if n % 3 == 0 else [],
                    )
                )
            threads = Thread.objects.bulk_create(threads)
            rows = []
            for thread in threads:
                index = int(thread.subject.split()[1].rstrip(":"))
                messages = LONG_THREAD_MESSAGES if index == 0 else PER_THREAD
                for m in range(messages):
                    inbound = m % 2 == 0
                    name = SENDERS[(index + m) % len(SENDERS)]
                    address = name.split()[0].lower() + f"{index}@customer.example"
                    rows.append(
                        Message(
                            organization=org,
                            inbox=thread.inbox,
                            thread=thread,
                            direction="inbound" if inbound else "outbound",
                            status="received" if inbound else "sent",
                            from_email=address if inbound else thread.inbox.email,
                            from_name=name if inbound else "",
                            to=[thread.inbox.email] if inbound else [address],
                            cc=["billing@customer.example"] if m == 2 else [],
                            subject=("Re: " if m else "") + thread.subject,
                            text=f"Message {m} about order {index}. "
                            + "The parcel left the warehouse on Monday and the tracking page "
                            "has not moved since. Could you look into it? " * 3,
                            message_id=f"<hd-{index}-{m}@bench.sendook.test>",
                            is_read=rng.random() > 0.1,
                        )
                    )
            Message.objects.bulk_create(rows)
        print(f"  generated {start + count:>6} threads ({time.perf_counter() - started:.0f} s)")
    long_thread = Thread.objects.get(organization=org, subject="Order 0: where is my parcel?")
    long_thread.subject = LONG_SUBJECT
    long_thread.assignee_member, long_thread.assignee_key = member, None
    long_thread.save(update_fields=["subject", "assignee_member", "assignee_key"])
    Note.objects.bulk_create(
        [
            Note(
                organization=org,
                thread=long_thread,
                author={"type": "user", "id": member.public_id, "name": "Dana"},
                text=f"Internal note {n}: customer called, promised an answer today.",
            )
            for n in range(LONG_THREAD_NOTES)
        ]
    )
    with connection.cursor() as cursor:
        # Times spread over a year, in thread order (the last thread is the newest); each
        # thread's summary (count, last message time and id, preview) as _summarize keeps it.
        cursor.execute(
            """UPDATE mail_message m
               SET created_at = %s - ((%s - f.thread_id) * interval '50 minutes')
                              - interval '1 hour' + (m.id - f.first_id) * interval '1 minute'
               FROM (SELECT thread_id, min(id) AS first_id FROM mail_message
                     WHERE organization_id = %s GROUP BY thread_id) f
               WHERE f.thread_id = m.thread_id""",
            [now, Thread.objects.filter(organization=org).order_by("-id").first().pk, org.pk],
        )
        cursor.execute(
            """UPDATE mail_thread t SET last_message_at = s.last, message_count = s.n,
                      preview = left(s.preview, 200), last_message_public_id = s.last_id,
                      participants = s.participants
               FROM (SELECT DISTINCT ON (thread_id) thread_id,
                            max(created_at) OVER w AS last, count(*) OVER w AS n,
                            text AS preview, public_id AS last_id,
                            jsonb_build_array(lower(from_email), lower("to" ->> 0)) AS participants
                     FROM mail_message WHERE organization_id = %s
                     WINDOW w AS (PARTITION BY thread_id)
                     ORDER BY thread_id, created_at DESC, id DESC) s
               WHERE t.id = s.thread_id""",
            [org.pk],
        )
    return org


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("mail_message", "mail_thread", "mail_note"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
    }


def measure(calls: dict[str, Callable[[], Any]], seconds: float) -> dict[str, list[float]]:
    """Each call timed in alternating half-second slices for `seconds` each, after a warm-up,
    so machine noise hits every side alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(5):
            call()
    deadline = time.monotonic() + seconds * len(calls)
    while time.monotonic() < deadline:
        for name, call in calls.items():
            end = time.perf_counter() + 0.5
            while (now := time.perf_counter()) < end:
                call()
                samples[name].append(time.perf_counter() - now)
    return samples


def run(threads: int = 10_000, seconds: float = 4.0) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from inboxes.models import Inbox
    from inboxes.services import create_api_key
    from messages.models import Message, Thread

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the in-process client
    settings.RATELIMIT_ENABLE = False
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    print(f"Generating / reusing {threads} threads …", flush=True)
    org = generate(threads)
    vacuum()
    inbox = Inbox.objects.filter(organization=org).order_by("email").first()
    long_thread = Thread.objects.get(organization=org, subject=LONG_SUBJECT)
    newest = Thread.objects.filter(organization=org).order_by("-last_message_at", "-id").first()
    assert newest.assignee_member_id is None, "the newest thread must be unassigned"
    api = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_key(org, name='bench').secret}")
    ui = Client()
    ui.force_login(get_user_model().objects.get(username=MEMBER_EMAIL))
    mine_count = Thread.objects.filter(
        organization=org, assignee_member__user__username=MEMBER_EMAIL
    )
    print(
        f"{threads} threads ({Message.objects.filter(organization=org).count()} messages) in 2 "
        f"inboxes; {mine_count.count()} assigned to the measured member; the thread page shows "
        f"{long_thread.message_count} messages and {long_thread.notes.count()} notes"
    )

    paths = {
        "api": f"/v1/inboxes/{inbox.public_id}/threads",
        "mine": "/threads?view=mine",
        "thread": f"/threads/{long_thread.public_id}",
    }
    clients = {"api": api, "mine": ui, "thread": ui}
    pages: dict[str, str] = {}
    for name, path in paths.items():
        response = clients[name].get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        pages[name] = response.content.decode()
    assert len(json.loads(pages["api"])) == 50, "the API page holds 50 threads"
    assert LONG_SUBJECT in pages["thread"], "the thread page shows the thread"
    # The Mine view lists only the member's threads; the plain list (before the view exists)
    # starts with the newest thread, which is unassigned.
    view = "fallback" if newest.subject in pages["mine"] else "mine"
    if view == "mine":
        newest_mine = mine_count.filter(status="open").order_by("-last_message_at", "-id").first()
        assert newest_mine.subject in pages["mine"], "Mine starts with the member's newest thread"
    notes_shown = "Internal note 0" in pages["thread"]

    calls = {
        name: (lambda client=clients[name], path=path: client.get(path))
        for name, path in paths.items()
    }
    samples = measure(calls, seconds)
    rps = {name: len(s) / sum(s) for name, s in samples.items()}
    results: list[dict[str, Any]] = []
    for name, label in (
        ("mine", "ui: Mine view /threads?view=mine vs API /threads (req/s)"),
        ("thread", "ui: thread page /threads/<id> (12 messages, notes) vs API /threads (req/s)"),
    ):
        ratio = rps[name] / rps["api"]
        results.append(
            {
                "name": label,
                "threads": threads,
                "figure": round(rps[name], 1),
                "baseline": round(rps["api"], 1),
                "ratio": round(ratio, 3),
                "target": ">= 0.5x",
                "pass": ratio >= 0.5,
                "unit": "req/s",
                **percentiles(samples[name]),
                "baseline_latency_ms": percentiles(samples["api"]),
                "requests": len(samples[name]),
                "baseline_requests": len(samples["api"]),
                **({"view": view} if name == "mine" else {"notes_shown": notes_shown}),
            }
        )
    api_lat = percentiles(samples["api"])
    print(
        f"  GET /v1/inboxes/{{id}}/threads (API)   {rps['api']:8.1f} req/s  p50 {api_lat['p50']} ms"
    )
    for row in results:
        print(
            f"  {row['name'][:46]:46} {row['figure']:8.1f} req/s  p50 {row['p50']} "
            f"p95 {row['p95']} ms  ratio {row['ratio']:.2f}x (target >= 0.5x: "
            f"{'pass' if row['pass'] else 'FAIL'})"
        )
    if view == "fallback":
        print("  note: /threads?view=mine answered the plain list (the Mine view is not merged)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per page")
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.threads, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
