"""Inbound mail to stream and to webhook, end to end, on the whole stack (bench/stream.py part 4).

gunicorn (sendook.wsgi, 2 workers x 4 threads) takes signed SES/SNS notifications at
POST /webhooks/ses (signature checked against a certificate served over TLS on loopback, raw
mail stored, parse enqueued); a real Celery worker (concurrency 2) parses, stores and records
`message.received`, which the stream's uvicorn process hears over Redis and the worker then
delivers to the organization's webhook (a receiver in its own process). One mail at a time,
--gap apart (not waiting for the previous one's delivery), after two warm-up mails. Latency:
from just before the POST to the stream client's socket read / the receiver's arrival stamp.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bench.stream_clients import ClientPool, percentile
from reliability import common

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 2


def notification(raw: bytes, recipient: str, mail_id: str) -> str:
    return json.dumps(
        {
            "notificationType": "Received",
            "mail": {"messageId": mail_id, "destination": [recipient]},
            "receipt": {
                "recipients": [recipient],
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


def run_inbound(
    server: common.Uvicorn, env: dict[str, str], logs: Path, mails: int, gap: float = 0.3
) -> list[dict[str, Any]]:
    from inboxes.services import create_inbox, create_organization
    from messages.tests.inbound.ses.sns_testing import (
        TOPIC_ARN,
        build_notification,
        create_test_pki,
        serve_certificate,
        sign_sns_message,
    )
    from webhooks import signing
    from webhooks.models import Webhook

    run = time.time_ns()
    organization, key, _ = create_organization(name=f"bench-stream-inbound-{run}")
    inbox = create_inbox(organization, name=f"Stream bench {run}")
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "stream_roles.py"), "receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert receiver.stdout is not None and receiver.stdin is not None
    hook_url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hooks/sendook"
    Webhook.objects.create(
        organization=organization,
        url=hook_url,
        events=["message.received"],
        secret=signing.generate_secret(),
    )
    pki = create_test_pki()
    subjects, bodies = [], []
    for n in range(WARM_UP + mails):
        mime = EmailMessage()
        mime["From"] = f"Sender {n} <sender{n}@example.org>"
        mime["To"] = inbox.email
        subjects.append(f"stream bench {run} {n}")
        mime["Subject"] = subjects[-1]
        mime["Message-ID"] = f"<stream-bench-{run}-{n}@example.org>"
        mime.set_content(f"Inbound mail {n} for the stream benchmark.\n" * 20)
        signed = sign_sns_message(
            build_notification(notification(mime.as_bytes(), inbox.email, f"ses-{run}-{n}")),
            key=pki.leaf_key,
        )
        bodies.append(json.dumps(signed).encode())
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
    }
    posted: dict[str, float] = {}
    with serve_certificate(pki) as certificates:
        stack_env = {
            **env,
            "SENDOOK_SES_TOPIC_ARNS": TOPIC_ARN,
            "SENDOOK_SNS_CERT_CONNECT_TO": certificates.connect_to,
            "SENDOOK_SNS_CA_BUNDLE": certificates.ca_bundle,
        }
        web = common.Gunicorn(stack_env, logs / "gunicorn.log")
        worker = common.Worker(stack_env, logs / "worker.log")
        stream = ClientPool(
            "127.0.0.1",
            server.port,
            [
                {
                    "path": "/v1/events/stream?events=message.received",
                    "headers": {"Authorization": f"Bearer {key.secret}"},
                    "tag": 0,
                }
            ],
            keep_data=True,
        )
        try:
            web.start()
            worker.start()
            print(f"inbound: stream {stream.wait_connected()}", flush=True)
            for subject, body in zip(subjects, bodies, strict=True):
                posted[subject] = time.time()
                status, answer = common.post(f"{web.url}/webhooks/ses", body, headers)
                assert status == 200, (status, answer[:500])
                time.sleep(gap)
            common.wait_until(lambda: len(stream.frames()) >= len(subjects), 60, 0.5)
            frames = stream.frames()
        finally:
            stream.close()
            receiver.stdin.close()
            arrivals = json.loads(receiver.stdout.readline() or "[]")
            receiver.wait(timeout=10)
            worker.stop()
            web.stop()
    return report(subjects[WARM_UP:], posted, frames, arrivals, mails, gap)


def report(
    subjects: list[str],
    posted: dict[str, float],
    frames: list[list[Any]],
    arrivals: list[list[Any]],
    mails: int,
    gap: float,
) -> list[dict[str, Any]]:
    counted = set(subjects)

    def latencies(pairs: list[tuple[float, str]]) -> tuple[list[float], int]:
        seen: dict[str, float] = {}
        for at, subject in pairs:
            if subject in counted:
                seen.setdefault(subject, at)
        duplicates = len([s for _, s in pairs if s in counted]) - len(seen)
        return sorted((at - posted[s]) * 1000 for s, at in seen.items()), duplicates

    stream_ms, stream_dups = latencies(
        [(at, json.loads(data)["payload"]["subject"]) for at, _, _, data in frames]
    )
    hook_ms, hook_dups = latencies([(at, body["payload"]["subject"]) for at, body in arrivals])
    rows = []
    for label, values, duplicates in (
        ("stream client (message.received)", stream_ms, stream_dups),
        ("webhook receiver (POST)", hook_ms, hook_dups),
    ):
        p50, p95, p99 = (round(percentile(values, f), 1) for f in (0.5, 0.95, 0.99))
        missing = mails - len(values)
        print(
            f"inbound mail -> {label}: {len(values)} of {mails} mails ({missing} missing, "
            f"{duplicates} duplicated), p50 {p50} ms, p95 {p95} ms, p99 {p99} ms, max "
            f"{round(values[-1], 1) if values else None} ms (one mail every {gap} s)",
            flush=True,
        )
        rows.append(
            {
                "name": f"stream: inbound mail (SNS POST, gunicorn + Celery) -> {label} (ms p95)",
                "figure": p95,
                "baseline": "",
                "ratio": "",
                "p50": p50,
                "p95": p95,
                "p99": p99,
                "max": round(values[-1], 1) if values else None,
                "target": "(informative), none lost",
                "pass": None if missing == 0 and duplicates == 0 else False,
                "unit": "ms",
                "mails": mails,
                "missing": missing,
                "duplicated": duplicates,
            }
        )
    return rows
