"""List benchmark: GET /v1/inboxes/{id}/messages?limit=50 requests/s against a bare WSGI app.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sendook_bench CACHE_URL=redis://127.0.0.1:6379/2 \\
    .venv/bin/python bench/listing.py [--messages 500] [--seconds 10]

The product side is Django's WSGI application (auth, per-organization rate limit in Redis,
inbox lookup, the keyset page with its prefetch, serialization, Link header). The baseline is
a bare WSGI callable on one psycopg connection running the same SQL (API key, inbox, one page of
51 messages joined to their organization/inbox/thread/from/to inboxes, their attachments) and
returning the same JSON and Link header (checked equal before timing). Both are called
in-process with the same WSGI environ, alternating in short slices, so neither pays for HTTP
parsing and machine noise hits both alike. Also counts SQL queries per request at limit=5 and
limit=50: the count must not grow with the page size (no N+1).
The database named by DATABASE_URL is migrated and written to: do not point it at real data.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sendook_bench")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("SENDOOK_API_RATE_LIMIT", "100000000/m")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
os.environ.pop("CELERY_BROKER_URL", None)

ORG_NAME = "bench-list"


def generate(total: int) -> tuple[Any, Any, str]:
    """An organization with one inbox of `total` messages (every 8th with an attachment)."""
    from django.db import transaction

    from inboxes.models import Inbox, Organization
    from inboxes.services import create_api_key
    from messages.models import Attachment, Message, Thread

    Organization.objects.filter(name=ORG_NAME).delete()
    org = Organization.objects.create(name=ORG_NAME)
    inbox = Inbox.objects.create(organization=org, email="list@bench.sendook.test", name="List")
    other = Inbox.objects.create(organization=org, email="other@bench.sendook.test", name="Other")
    with transaction.atomic():
        threads = Thread.objects.bulk_create(
            [
                Thread(organization=org, inbox=inbox, subject=f"Order {n}")
                for n in range(0, total, 4)
            ]
        )
        messages = Message.objects.bulk_create(
            [
                Message(
                    organization=org,
                    inbox=inbox,
                    thread=threads[n // 4],
                    direction="outbound" if n % 2 else "inbound",
                    status="sent" if n % 2 else "received",
                    from_email=inbox.email if n % 2 else f"customer{n}@example.com",
                    from_name="" if n % 2 else f"Customer {n}",
                    to=[f"customer{n}@example.com"] if n % 2 else [inbox.email],
                    cc=["cc@example.com"] if n % 5 == 0 else [],
                    from_inbox=inbox if n % 2 else None,
                    to_inbox=other if n % 7 == 0 else None,
                    subject=("Re: " if n % 4 else "") + f"Order {n - n % 4}",
                    text=f"Hello, about order {n}: " + "the parcel left the warehouse today. " * 6,
                    labels=["orders"] if n % 3 == 0 else [],
                    message_id=f"<m{n}@bench.sendook.test>",
                )
                for n in range(total)
            ]
        )
        Attachment.objects.bulk_create(
            [
                Attachment(
                    message=m,
                    filename="invoice.pdf",
                    content_type="application/pdf",
                    size=1000,
                    file="bench/invoice.pdf",
                )
                for m in messages[::8]
            ]
        )
    return org, inbox, create_api_key(org, name="bench").secret


# --- the bare baseline ----------------------------------------------------------------------

MESSAGES_SQL = """
SELECT m.id, m.public_id, o.public_id, i.public_id, t.public_id, fi.public_id, ti.public_id,
       m.from_name, m.reply_to, m.from_email, m.to, m.cc, m.bcc, m.subject, m.text, m.html,
       m.labels, m.message_id, m.in_reply_to, m.references, m.external_message_id, m.status,
       m.status_reason, m.direction, m.sent_at, m.created_at, m.updated_at, m.extracted_text
FROM mail_message m
JOIN inboxes_organization o ON o.id = m.organization_id
JOIN inboxes_inbox i ON i.id = m.inbox_id
JOIN mail_thread t ON t.id = m.thread_id
LEFT JOIN inboxes_inbox fi ON fi.id = m.from_inbox_id
LEFT JOIN inboxes_inbox ti ON ti.id = m.to_inbox_id
WHERE m.inbox_id = %s AND m.organization_id = %s
ORDER BY m.id DESC LIMIT %s
"""
ATTACHMENTS_SQL = """
SELECT message_id, public_id, filename, content_type, size, content_id, inline
FROM mail_attachment WHERE message_id = ANY(%s) ORDER BY id
"""


def make_bare_app(conninfo: str):  # type: ignore[no-untyped-def]
    """A WSGI callable doing the list endpoint's work and nothing else."""
    from urllib.parse import parse_qs

    import psycopg

    from messages.payloads import preview_of
    from sendook.api import encode_cursor, format_timestamp, hash_api_key

    conn = psycopg.connect(conninfo, autocommit=True)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        secret = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        path = environ["PATH_INFO"]
        inbox_public_id = path.split("/")[3]
        limit = min(int(parse_qs(environ.get("QUERY_STRING", "")).get("limit", ["50"])[0]), 200)
        with conn.cursor() as cur:
            key = cur.execute(
                "SELECT k.organization_id FROM inboxes_apikey k JOIN inboxes_organization o ON o.id = k.organization_id "
                "WHERE k.key_hash = %s AND k.revoked_at IS NULL",
                [hash_api_key(secret)],
            ).fetchone()
            if key is None:
                start_response("401 Unauthorized", [("Content-Type", "application/json")])
                return [b'{"error":"Invalid API key","code":"not_authenticated"}']
            org_id = key[0]
            inbox_id = cur.execute(
                "SELECT id FROM inboxes_inbox WHERE organization_id = %s AND public_id = %s",
                [org_id, inbox_public_id],
            ).fetchone()[0]
            rows = cur.execute(MESSAGES_SQL, [inbox_id, org_id, limit + 1]).fetchall()
            page = rows[:limit]
            attachments: dict[int, list[dict[str, Any]]] = {}
            if page:
                for a in cur.execute(ATTACHMENTS_SQL, [[r[0] for r in page]]).fetchall():
                    item = {
                        "id": a[1],
                        "_id": a[1],
                        "name": a[2],
                        "contentType": a[3],
                        "size": a[4],
                    }
                    if a[5]:
                        item["contentId"] = a[5]
                    item["inline"] = a[6]
                    attachments.setdefault(a[0], []).append(item)
        body = []
        for r in page:
            data: dict[str, Any] = {
                "id": r[1],
                "_id": r[1],
                "organizationId": r[2],
                "inboxId": r[3],
                "threadId": r[4],
            }
            for key_name, value in (
                ("fromInboxId", r[5]),
                ("toInboxId", r[6]),
                ("fromName", r[7]),
                ("replyTo", r[8]),
            ):
                if value:
                    data[key_name] = value
            data.update({"from": r[9], "to": r[10], "cc": r[11], "bcc": r[12], "subject": r[13]})
            # The default list view carries the bodies as well as the preview.
            data["text"] = r[14]
            data["html"] = r[15]
            if r[27]:
                data["extractedText"] = r[27]
            data["preview"] = preview_of(r[14], r[15])
            data["labels"] = r[16]
            data["attachments"] = attachments.get(r[0], [])
            data["messageId"] = r[17]
            if r[18]:
                data["inReplyTo"] = r[18]
            data["references"] = r[19]
            if r[20]:
                data["externalMessageId"] = r[20]
            data["status"] = r[21]
            if r[22]:
                data["statusReason"] = r[22]
            data["direction"] = r[23]
            if r[24]:
                data["sentAt"] = format_timestamp(r[24])
            data["createdAt"] = format_timestamp(r[25])
            data["updatedAt"] = format_timestamp(r[26])
            body.append(data)
        headers = [("Content-Type", "application/json")]
        if len(rows) > limit:
            cursor = encode_cursor(None, page[-1][0])
            query = environ.get("QUERY_STRING", "")
            url = f"http://{environ['HTTP_HOST']}{path}?{query}&cursor={cursor}"
            headers.append(("Link", f'<{url}>; rel="next"'))
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers.append(("Content-Length", str(len(payload))))
        start_response("200 OK", headers)
        return [payload]

    return app, conn


# --- driving both ---------------------------------------------------------------------------


def call(app: Any, path: str, query: str, secret: str) -> tuple[str, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {secret}",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    state: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        state["status"], state["headers"] = status, dict(headers)

    result = app(environ, start_response)
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()  # Django's request_finished: what a WSGI server does after each response
    return state["status"], state["headers"], body


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
    }


def run(messages: int = 500, seconds: float = 10.0, verbose: bool = True) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    call_command("migrate", verbosity=0)
    _org, inbox, secret = generate(messages)
    db = settings.DATABASES["default"]
    conninfo = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
    if db.get("PASSWORD"):
        conninfo += f" password={db['PASSWORD']}"
    with connection.cursor() as cursor:
        for table in ("mail_message", "mail_thread", "mail_attachment"):
            cursor.execute(f"VACUUM ANALYZE {table}")

    django_app = WSGIHandler()
    bare_app, bare_conn = make_bare_app(conninfo)
    path = f"/v1/inboxes/{inbox.public_id}/messages"
    try:
        # Same answer from both, before any timing.
        api_status, api_headers, api_body = call(django_app, path, "limit=50", secret)
        _bare_status, bare_headers, bare_body = call(bare_app, path, "limit=50", secret)
        assert api_status.startswith("200"), api_body[:500]
        assert json.loads(api_body) == json.loads(bare_body), "bare app JSON differs from the API's"
        assert api_headers.get("Link") == bare_headers.get("Link"), (
            api_headers.get("Link"),
            bare_headers.get("Link"),
        )
        assert len(json.loads(api_body)) == 50

        # Queries per request must not grow with the page size.
        counts = {}
        for limit in (5, 50):
            with CaptureQueriesContext(connection) as captured:
                call(django_app, path, f"limit={limit}", secret)
            counts[limit] = len(captured.captured_queries)

        samples: dict[str, list[float]] = {"api": [], "bare": []}
        apps = {"api": django_app, "bare": bare_app}
        for name in apps:  # warm-up
            for _ in range(20):
                call(apps[name], path, "limit=50", secret)
        slice_seconds = 0.5
        deadline = time.monotonic() + 2 * seconds
        while time.monotonic() < deadline:
            for name, app in apps.items():
                end = time.perf_counter() + slice_seconds
                while (now := time.perf_counter()) < end:
                    call(app, path, "limit=50", secret)
                    samples[name].append(time.perf_counter() - now)
    finally:
        bare_conn.close()
    api_rps = len(samples["api"]) / sum(samples["api"])
    bare_rps = len(samples["bare"]) / sum(samples["bare"])
    ratio = api_rps / bare_rps
    results = [
        {
            "name": "list: GET /v1/inboxes/{id}/messages?limit=50 (req/s, in-process WSGI)",
            "figure": round(api_rps, 1),
            "baseline": round(bare_rps, 1),
            "ratio": round(ratio, 3),
            "target": ">= 0.5x",
            "pass": ratio >= 0.5,
            "unit": "req/s",
            **percentiles(samples["api"]),
            "baseline_latency_ms": percentiles(samples["bare"]),
            "requests": len(samples["api"]),
            "baseline_requests": len(samples["bare"]),
        },
        {
            "name": "list: SQL queries per request, limit=50 vs limit=5",
            "figure": counts[50],
            "baseline": counts[5],
            "ratio": round(counts[50] / counts[5], 3),
            "target": "== 1.0x (no N+1)",
            "pass": counts[50] == counts[5],
            "unit": "queries",
        },
    ]
    if verbose:
        lat = results[0]
        print(
            f"{messages} messages in the inbox; {lat['requests']} API and {lat['baseline_requests']} bare requests"
        )
        print(
            f"  bare WSGI app (same SQL, same JSON)   {bare_rps:8.1f} req/s  p50 {lat['baseline_latency_ms']['p50']} ms"
        )
        print(
            f"  GET …/messages?limit=50 (Django/DRF)  {api_rps:8.1f} req/s  p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms"
        )
        print(f"  ratio API / bare = {ratio:.2f}x  (target >= 0.5x)")
        print(
            f"  SQL queries per request: limit=5 -> {counts[5]}, limit=50 -> {counts[50]} ({'constant' if counts[5] == counts[50] else 'GROWS: N+1'})"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per side")
    parser.add_argument("--json", help="also write the results (a JSON list) to this file")
    args = parser.parse_args()
    results = run(args.messages, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
