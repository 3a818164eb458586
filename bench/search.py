"""Search benchmark over 100,000 generated messages (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sendook_ui CACHE_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python bench/search.py [--messages 100000] [--runs 60]

Prints, for rare, common and operator queries:
  * p95 of `GET /v1/inboxes/{id}/messages?query=…` through the whole Django stack (in-process
    test client: auth, throttles, pagination, serialization), against the p95 of the same SQL
    statements (captured from one API call) run directly on a cursor; target
    API p95 <= 1.5 x SQL p95 + 3 ms, and inbox-scoped API p95 <= 20 ms;
  * p95 of the organization-wide search the UI uses (search_messages, first page);
  * requests/s of the staff thread-list page against the API's thread list endpoint for the
    same inbox (target: page >= 0.5 x API).
The data set is generated once (organization "bench") and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from inboxes.models import Inbox, Membership, Organization  # noqa: E402
from inboxes.services import create_api_key  # noqa: E402
from messages.models import Attachment, Message, Thread  # noqa: E402
from messages.selectors import search_messages  # noqa: E402

ORG_NAME = "bench"
INBOXES = 10
PER_THREAD = 4
RARE_WORD = "zephyrine"  # in 25 messages of 100,000
COMMON_WORDS = ["meeting", "invoice", "update", "schedule", "report"]
FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


def words(rng: random.Random, vocabulary: list[str], n: int) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def generate(total: int) -> Organization:
    org = Organization.objects.filter(name=ORG_NAME).first()
    if org is not None and Message.objects.filter(organization=org).count() == total:
        return org
    if org is not None:
        org.delete()
    rng = random.Random(42)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "po", "ban", "tor", "lin"]
    vocabulary = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)}
    )
    vocabulary += ["the", "and", "for", "with", "please", "thanks", "regards", "order", "customer"]
    senders = [
        f"{rng.choice(FIRST)}.{rng.choice(vocabulary)}@partner{n % 40}.test" for n in range(300)
    ]
    org = Organization.objects.create(name=ORG_NAME)
    inboxes = [
        Inbox.objects.create(organization=org, email=f"box{n}@bench.sendook.test", name=f"Box {n}")
        for n in range(INBOXES)
    ]
    rare_ids = set(rng.sample(range(total), 25))
    now = timezone.now()
    started = time.perf_counter()
    batch = 5000
    for start in range(0, total, batch):
        count = min(batch, total - start)
        with transaction.atomic():
            threads = Thread.objects.bulk_create(
                [
                    Thread(
                        organization=org,
                        inbox=inboxes[(start + n) // PER_THREAD % INBOXES],
                        subject=words(rng, vocabulary, 4),
                    )
                    for n in range(0, count, PER_THREAD)
                ]
            )
            rows = []
            for n in range(count):
                index = start + n
                thread = threads[n // PER_THREAD]
                text = words(rng, vocabulary, 50)
                if rng.random() < 0.3:
                    text += " " + rng.choice(COMMON_WORDS)
                if index in rare_ids:
                    text += f" {RARE_WORD}"
                inbound = rng.random() < 0.7
                sender = rng.choice(senders)
                rows.append(
                    Message(
                        organization=org,
                        inbox=thread.inbox,
                        thread=thread,
                        direction="inbound" if inbound else "outbound",
                        status="received" if inbound else "sent",
                        from_email=sender if inbound else thread.inbox.email,
                        from_name=sender.split("@")[0].replace(".", " ").title() if inbound else "",
                        to=[thread.inbox.email] if inbound else [sender],
                        cc=[rng.choice(senders)] if rng.random() < 0.1 else [],
                        subject=("Re: " if n % PER_THREAD else "") + thread.subject,
                        text=text,
                        labels=["urgent"]
                        if rng.random() < 0.05
                        else (["newsletter"] if rng.random() < 0.1 else []),
                        is_read=rng.random() > 0.02,
                    )
                )
            created = Message.objects.bulk_create(rows)
            Attachment.objects.bulk_create(
                [
                    Attachment(
                        message=m,
                        filename="report.pdf",
                        content_type="application/pdf",
                        size=1000,
                        file="bench/report.pdf",
                    )
                    for m in created
                    if rng.random() < 0.02
                ]
            )
        print(
            f"  generated {start + count:>7} messages ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    with connection.cursor() as cursor:
        # Spread creation times over a year (created_at is not in the search vector's trigger).
        cursor.execute(
            "UPDATE mail_message SET created_at = %s - (random() * interval '365 days') WHERE organization_id = %s",
            [now, org.pk],
        )
        cursor.execute(
            """UPDATE mail_thread t SET last_message_at = s.last, message_count = s.n,
                      preview = left(s.preview, 200)
               FROM (SELECT thread_id, max(created_at) AS last, count(*) AS n, max(text) AS preview
                     FROM mail_message WHERE organization_id = %s GROUP BY thread_id) s
               WHERE t.id = s.thread_id""",
            [org.pk],
        )
    return org


def vacuum() -> None:
    # The steady state autovacuum keeps: statistics fresh, visibility map set, no dead rows.
    with connection.cursor() as cursor:
        for table in ("mail_message", "mail_thread", "mail_attachment"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def timed(fn, runs: int) -> list[float]:
    for _ in range(3):  # warm caches and connections
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement")
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.messages, args.runs, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def run(messages: int = 100_000, runs: int = 60, seconds: float = 5.0) -> list[dict]:
    """Prints the table and returns every figure as data."""
    args = argparse.Namespace(messages=messages, runs=runs)
    results: list[dict] = []
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the in-process client
    settings.RATELIMIT_ENABLE = False
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    print(f"Generating / reusing {args.messages} messages …", flush=True)
    org = generate(args.messages)
    vacuum()
    inbox = Inbox.objects.filter(organization=org).order_by("email").first()
    per_inbox = Message.objects.filter(inbox=inbox).count()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_key(org, name='bench').secret}")
    user, _ = get_user_model().objects.get_or_create(
        username="bench@example.com", defaults={"email": "bench@example.com"}
    )
    Membership.objects.get_or_create(organization=org, user=user)
    ui = Client()
    ui.force_login(user)

    queries = {
        # Baseline: the list endpoint without a query shows the API stack's own share.
        "(no query: plain list, baseline)": "",
        "rare word": RARE_WORD,
        "common word": "meeting",
        "partial word (substring)": "zephyr",
        "phrase + exclusion": '"please thanks" -invoice',
        "operator: from:alice": "from:alice",
        "operators: label:urgent has:attachment": "label:urgent has:attachment",
        "mixed: invoice is:received after:2026-06-01": "invoice is:received after:2026-06-01",
    }
    print(
        f"\n{per_inbox} messages in the measured inbox, {args.messages} in the organization; "
        f"{args.runs} runs each; times are p95 in ms.\n"
    )
    header = f"{'query':48} {'API':>7} {'SQL':>7} {'limit':>7} {'ok':>3} {'UI org-wide':>12}"
    print(header)
    print("-" * len(header))
    url = f"/v1/inboxes/{inbox.public_id}/messages"
    for label, query in queries.items():

        def call_api(query=query):
            response = api.get(url, {"query": query})
            assert response.status_code == 200, response.content

        with CaptureQueriesContext(connection) as captured:
            call_api()
        statements = [
            q["sql"]
            for q in captured.captured_queries
            if "mail_message" in q["sql"] or "mail_attachment" in q["sql"]
        ]

        def run_sql(statements=statements):
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()

        def run_ui(query=query):
            # As the UI's search page loads them.
            rows = search_messages(org, query).select_related("thread", "inbox")
            list(rows.defer("search_vector", "html")[:51])

        api_samples = timed(call_api, args.runs)
        api_p95 = p95(api_samples)
        sql_p95 = p95(timed(run_sql, args.runs))
        ui_p95 = p95(timed(run_ui, max(10, args.runs // 3)))
        limit = 1.5 * sql_p95 + 3
        ok = "yes" if api_p95 <= limit and api_p95 <= 20 else "NO"
        print(f"{label:48} {api_p95:7.1f} {sql_p95:7.1f} {limit:7.1f} {ok:>3} {ui_p95:12.1f}")
        results.append(
            {
                "name": f"search p95 ms, API vs SQL: {label}",
                "messages": args.messages,
                "figure": round(api_p95, 2),
                "baseline": round(sql_p95, 2),
                "ratio": round(api_p95 / sql_p95, 3),
                "target": "<= 1.5x SQL + 3 ms and <= 20 ms",
                "pass": ok == "yes",
                "unit": "ms (p95)",
                **percentiles(api_samples),
                "ui_org_wide_p95": round(ui_p95, 2),
            }
        )

    def throughput(client: Client, path: str, seconds: float = seconds) -> float:
        for _ in range(3):
            assert client.get(path).status_code == 200
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            client.get(path)
            count += 1
        return count / (time.perf_counter() - started)

    page_rps = throughput(ui, f"/inboxes/{inbox.public_id}")
    api_rps = throughput(api, f"/v1/inboxes/{inbox.public_id}/threads")
    ratio = page_rps / api_rps
    print(
        f"\nthread list, 50 per page: UI page {page_rps:.0f} req/s, API /threads {api_rps:.0f} req/s, "
        f"ratio {ratio:.2f} (target >= 0.5: {'yes' if ratio >= 0.5 else 'NO'})"
    )
    all_rps = throughput(ui, "/threads")
    print(f"all-inboxes page ({args.messages // PER_THREAD} threads): {all_rps:.0f} req/s")
    results.append(
        {
            "name": "search: staff UI thread-list page vs API /threads (req/s)",
            "figure": round(page_rps, 1),
            "baseline": round(api_rps, 1),
            "ratio": round(ratio, 3),
            "target": ">= 0.5x",
            "pass": ratio >= 0.5,
            "unit": "req/s",
            "all_inboxes_page_rps": round(all_rps, 1),
        }
    )
    return results


if __name__ == "__main__":
    main()
