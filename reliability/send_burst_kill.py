"""Reliability 1: a send burst survives a Celery worker SIGKILLed several times mid-drain.

1,000 messages are sent through POST /v1/inboxes/{id}/messages/send (Django's test client,
in-process: the whole DRF stack, transaction and enqueue-on-commit, without HTTP parsing). A real
`celery -A sendook worker` (concurrency 2) sends them through Anymail's SES backend to moto's SES
server; it is SIGKILLed (the whole process group) several times during the drain and restarted.
The periodic sweep (messages.tasks.requeue_stuck_messages, beat's job) is run from this process
every 2 s with SENDOOK_REQUEUE_AFTER_SECONDS=10, in place of beat's 60 s schedule.

Figures: lost (queued-then-never-terminal, or terminal `sent` but absent at SES; target 0),
duplicates at SES outside the provider-call window and inside it (a message SES had accepted but
whose `sent` was not yet committed when the worker died; both target 0: the claim committed
before the provider call means such a message is never handed over again, it ends failed
"outcome unknown" after SENDOOK_SEND_CLAIM_SECONDS, counted as outcome_unknown), and the time
from the burst's first request until every message is terminal.

The provider-call window is measured, not assumed: right after each kill (no worker alive) the
Message-IDs moto has received are compared with the rows recorded `sent`; a message at SES but
not recorded is inside the window, and only such a message may legitimately go out twice.
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

TERMINAL = {"sent", "delivered", "bounced", "complained", "rejected", "failed"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument(
        "--kill-every", type=float, default=6, help="seconds of worker uptime between kills"
    )
    parser.add_argument("--timeout", type=float, default=300, help="drain deadline in seconds")
    args = parser.parse_args()

    with common.own_redis():
        return run(args)


def run(args: argparse.Namespace) -> int:
    common.configure(
        SENDOOK_REQUEUE_AFTER_SECONDS="10",
        SENDOOK_SEND_MAX_RETRIES="6",
        SENDOOK_SEND_CLAIM_SECONDS="20",
    )
    common.setup_django()
    from django.conf import settings
    from django.test import Client

    from inboxes.services import create_api_key, create_inbox, create_organization
    from messages.models import Message
    from messages.tasks import requeue_stuck_messages

    log = Path(tempfile.mkdtemp(prefix="sendook-rel-")) / "worker.log"
    with common.moto_server() as moto:
        env = common.worker_env(
            EMAIL_BACKEND="anymail.backends.amazon_ses.EmailBackend",
            AWS_ENDPOINT_URL=moto,
        )
        worker = common.Worker(env, log)
        organization = create_organization(name=f"reliability-burst-{time.time_ns()}")[0]
        secret = create_api_key(organization, name="reliability").secret
        inbox = create_inbox(organization, name="Burst")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        worker.start()
        try:
            ids: list[str] = []
            errors = 0
            started = time.monotonic()
            kills_done = 0
            window: set[str] = set()
            last_start = time.monotonic()

            def kill_and_snapshot() -> None:
                nonlocal kills_done, last_start
                worker.kill()
                kills_done += 1
                at_ses = set(common.sent_at_moto(moto))
                recorded = {
                    f"<{public_id}@{settings.SENDOOK_DEFAULT_DOMAIN}>"
                    for public_id in Message.objects.filter(
                        organization=organization, status="sent"
                    ).values_list("public_id", flat=True)
                }
                window.update(at_ses - recorded)
                print(
                    f"  kill {kills_done} at {time.monotonic() - started:.1f}s: {len(recorded)} recorded sent, "
                    f"{len(at_ses - recorded)} at SES unrecorded",
                    flush=True,
                )
                worker.start()
                last_start = time.monotonic()

            def queued() -> int:
                return Message.objects.filter(organization=organization, status="queued").count()

            def maybe_kill() -> None:
                # Every --kill-every seconds of worker uptime while it has work to do.
                if (
                    kills_done < args.kills
                    and time.monotonic() - last_start > args.kill_every
                    and queued()
                ):
                    kill_and_snapshot()

            # The burst: the worker drains while requests arrive; kills are spread over the drain.
            for index in range(args.messages):
                response = client.post(
                    f"/v1/inboxes/{inbox.public_id}/messages/send",
                    {
                        "to": [f"r{index}@example.com"],
                        "subject": f"burst {index}",
                        "text": "Hello.",
                    },
                    content_type="application/json",
                )
                if response.status_code == 202:
                    ids.append(response.json()["id"])
                else:
                    errors += 1
                if index % 20 == 0:
                    maybe_kill()
            accepted_at = time.monotonic() - started
            print(f"  {len(ids)} accepted in {accepted_at:.1f}s, {errors} refused", flush=True)

            deadline = time.monotonic() + args.timeout
            last_sweep = 0.0
            while time.monotonic() < deadline:
                maybe_kill()
                if not queued():
                    break
                if time.monotonic() - last_sweep > 2:
                    requeue_stuck_messages()
                    last_sweep = time.monotonic()
                time.sleep(0.05)
            drain_seconds = time.monotonic() - started

            statuses = collections.Counter(
                Message.objects.filter(public_id__in=ids).values_list("status", flat=True)
            )
            at_ses = collections.Counter(common.sent_at_moto(moto))
            expected = {f"<{public_id}@{settings.SENDOOK_DEFAULT_DOMAIN}>" for public_id in ids}
            not_terminal = sum(
                count for status, count in statuses.items() if status not in TERMINAL
            )
            missing_at_ses = len(
                {
                    f"<{p}@{settings.SENDOOK_DEFAULT_DOMAIN}>"
                    for p in Message.objects.filter(public_id__in=ids, status="sent").values_list(
                        "public_id", flat=True
                    )
                }
                - set(at_ses)
            )
            lost = not_terminal + missing_at_ses + errors
            duplicated = {
                mid: count - 1 for mid, count in at_ses.items() if count > 1 and mid in expected
            }
            inside = sum(count for mid, count in duplicated.items() if mid in window)
            outside = sum(count for mid, count in duplicated.items() if mid not in window)
            from messages.services.delivery import OUTCOME_UNKNOWN

            unknown = Message.objects.filter(
                public_id__in=ids, status_reason=OUTCOME_UNKNOWN
            ).count()
            print(
                f"  statuses {dict(statuses)}; kills {kills_done}; messages in the provider-call window {len(window)}",
                flush=True,
            )
        finally:
            worker.stop()
    ok = (
        lost == 0
        and outside == 0
        and inside == 0
        and kills_done >= args.kills
        and len(ids) == args.messages
    )
    return common.figure(
        ok,
        messages=len(ids),
        kills=kills_done,
        lost=lost,
        duplicates=outside,
        duplicates_in_provider_window=inside,
        outcome_unknown=unknown,
        drain_seconds=drain_seconds,
    )


if __name__ == "__main__":
    sys.exit(main())
