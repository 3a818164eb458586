"""Reliability 2: Redis (broker and cache) stopped for 30 s under send load.

The script's own redis-server (loopback, random port) is both the Celery broker and the cache
(rate limits). Sends go through POST /v1/inboxes/{id}/messages/send in-process (Django's test
client: the whole DRF stack, one request at a time) for 10 s with Redis up, 30 s with it
stopped, 10 s after it is back; a real Celery worker (concurrency 2) sends to moto's SES. The
periodic sweep (requeue_stuck_messages, beat's job) runs from this process every 2 s with
SENDOOK_REQUEUE_AFTER_SECONDS=5: it is what re-enqueues messages whose enqueue hit the outage.

Figures: API answers 5xx other than 503 (target 0), accepted (202) messages lost — not terminal
at the end, or recorded sent but absent at SES (target 0), and the time from Redis's return
until every accepted message is terminal.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=30)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    port = common.free_port()
    with common.own_redis(port) as redis_process:
        return run(args, port, redis_process)


def run(args: argparse.Namespace, port: int, redis_process) -> int:  # type: ignore[no-untyped-def]
    common.configure(SENDOOK_REQUEUE_AFTER_SECONDS="5")
    common.setup_django()
    from django.conf import settings
    from django.test import Client

    from inboxes.services import create_api_key, create_inbox, create_organization
    from messages.models import Message
    from messages.tasks import requeue_stuck_messages

    organization = create_organization(name=f"reliability-redis-{time.time_ns()}")[0]
    secret = create_api_key(organization, name="reliability").secret
    inbox = create_inbox(organization, name="Outage")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
    tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-"))
    answers: collections.Counter[int] = collections.Counter()
    ids: list[str] = []
    with common.moto_server() as moto:
        worker = common.Worker(
            common.worker_env(
                EMAIL_BACKEND="anymail.backends.amazon_ses.EmailBackend", AWS_ENDPOINT_URL=moto
            ),
            tmp / "worker.log",
        )
        worker.start()
        try:

            def load(seconds: float, phase: str) -> None:
                end = time.monotonic() + seconds
                count = 0
                while time.monotonic() < end:
                    response = client.post(
                        f"/v1/inboxes/{inbox.public_id}/messages/send",
                        {"to": [f"r{len(ids)}@example.com"], "subject": phase, "text": "Hello."},
                        content_type="application/json",
                    )
                    answers[response.status_code] += 1
                    count += 1
                    if response.status_code == 202:
                        ids.append(response.json()["id"])
                    if phase == "redis up":
                        requeue_if_due()
                print(f"  {phase}: {count} requests, answers so far {dict(answers)}", flush=True)

            last_sweep = [0.0]

            def requeue_if_due() -> None:
                if time.monotonic() - last_sweep[0] > 2:
                    last_sweep[0] = time.monotonic()
                    try:
                        requeue_stuck_messages()
                    except Exception as exc:  # Redis down: beat's sweep would fail the same way
                        print(f"  sweep failed: {type(exc).__name__}", flush=True)

            load(10, "redis up")
            common.stop(redis_process)
            load(args.outage, "redis down")
            redis_process = common.start_redis(port)
            back = time.monotonic()
            load(10, "redis up")

            deadline = time.monotonic() + args.timeout
            while (
                time.monotonic() < deadline
                and Message.objects.filter(public_id__in=ids, status="queued").exists()
            ):
                requeue_if_due()
                time.sleep(0.2)
            drain_seconds = time.monotonic() - back
            statuses = collections.Counter(
                Message.objects.filter(public_id__in=ids).values_list("status", flat=True)
            )
            at_ses = set(common.sent_at_moto(moto))
            sent = {
                f"<{p}@{settings.SENDOOK_DEFAULT_DOMAIN}>"
                for p in Message.objects.filter(public_id__in=ids, status="sent").values_list(
                    "public_id", flat=True
                )
            }
            lost = statuses.get("queued", 0) + len(sent - at_ses)
            print(f"  answers {dict(answers)}; statuses {dict(statuses)}", flush=True)
        finally:
            worker.stop()
            common.stop(redis_process)
    bad_5xx = sum(count for status, count in answers.items() if status >= 500 and status != 503)
    ok = bad_5xx == 0 and lost == 0 and len(ids) > 0
    return common.figure(
        ok,
        requests=sum(answers.values()),
        accepted=len(ids),
        server_errors_not_503=bad_5xx,
        answered_503=answers.get(503, 0),
        lost=lost,
        drain_seconds_after_redis_back=drain_seconds,
    )


if __name__ == "__main__":
    sys.exit(main())
