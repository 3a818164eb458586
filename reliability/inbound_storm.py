"""Reliability 4: an SNS redelivery storm stores and delivers each mail exactly once per inbox.

200 SES "Received" notifications, each signed like SNS signs them (messages/tests/inbound/ses/sns_testing:
real RSA keys, the certificate served over TLS on loopback) and each addressed to two hosted
inboxes, are POSTed three times each, all 600 requests concurrently (16 client threads), to
/webhooks/ses on the app under gunicorn (2 workers x 4 threads); a real Celery worker parses them.

Figure: messages per (mail, inbox) — target exactly 1 for all 400 pairs, so missing=0 and
duplicates=0; also 5xx answers (target 0) and the time until every record is processed.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common


def ses_received(raw: bytes, recipients: list[str], mail_id: str) -> str:
    return json.dumps(
        {
            "notificationType": "Received",
            "mail": {"messageId": mail_id, "destination": recipients},
            "receipt": {
                "recipients": recipients,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=200)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    with common.own_redis():
        return run(args)


def run(args: argparse.Namespace) -> int:
    from messages.tests.inbound.ses.sns_testing import build_notification, sign_sns_message

    with common.signed_sns_endpoint() as pki:
        common.setup_django()
        from inboxes.models import Inbox, Organization
        from messages.models import InboundEmail, Message

        run_id = time.time_ns()
        organization = Organization.objects.create(name=f"reliability-storm-{run_id}")
        inboxes = [
            Inbox.objects.create(
                organization=organization,
                email=f"storm-{run_id}-{n}@sendook.localhost",
                name=f"Storm {n}",
            )
            for n in range(2)
        ]
        recipients = [inbox.email for inbox in inboxes]
        bodies, message_ids = [], []
        for index in range(args.notifications):
            mime = EmailMessage()
            mime["From"] = f"sender{index}@example.org"
            mime["To"] = ", ".join(recipients)
            mime["Subject"] = f"storm {index}"
            mime["Message-ID"] = f"<storm-{run_id}-{index}@example.org>"
            mime.set_content(f"Storm message {index}.")
            message_ids.append(mime["Message-ID"])
            envelope = sign_sns_message(
                build_notification(
                    ses_received(mime.as_bytes(), recipients, f"ses-{run_id}-{index}")
                ),
                key=pki.leaf_key,
            )
            bodies.append(json.dumps(envelope).encode())
        requests = [body for body in bodies for _ in range(args.copies)]
        random.Random(7).shuffle(requests)

        tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-"))
        env = common.worker_env()
        web, worker = (
            common.Gunicorn(env, tmp / "gunicorn.log"),
            common.Worker(env, tmp / "worker.log"),
        )
        web.start()
        worker.start()
        try:
            started = time.monotonic()
            headers = {
                "Content-Type": "text/plain; charset=UTF-8",
                "x-amz-sns-message-type": "Notification",
            }
            with ThreadPoolExecutor(16) as pool:
                statuses = collections.Counter(
                    status
                    for status, _ in pool.map(
                        lambda body: common.post(f"{web.url}/webhooks/ses", body, headers), requests
                    )
                )
            print(f"  answers {dict(statuses)} in {time.monotonic() - started:.1f}s", flush=True)
            records = InboundEmail.objects.filter(envelope_recipients__contains=[recipients[0]])
            common.wait_until(
                lambda: not records.filter(status="pending").exists(), args.timeout, 0.5
            )
            settle_seconds = time.monotonic() - started
            per_pair = collections.Counter(
                Message.objects.filter(inbox__in=inboxes, direction="inbound").values_list(
                    "message_id", "inbox_id"
                )
            )
            expected = {(message_id, inbox.pk) for message_id in message_ids for inbox in inboxes}
            missing = len(expected - set(per_pair))
            duplicates = sum(count - 1 for count in per_pair.values() if count > 1)
            stray = len(set(per_pair) - expected)
            record_states = collections.Counter(records.values_list("status", flat=True))
            print(
                f"  inbound records {dict(record_states)}; message rows {sum(per_pair.values())} for {len(expected)} pairs",
                flush=True,
            )
        finally:
            worker.stop()
            web.stop()
    server_errors = sum(count for status, count in statuses.items() if status >= 500 or status == 0)
    ok = missing == 0 and duplicates == 0 and stray == 0 and server_errors == 0
    return common.figure(
        ok,
        pairs=len(expected),
        missing=missing,
        duplicates=duplicates,
        server_errors=server_errors,
        records=sum(record_states.values()),
        settle_seconds=settle_seconds,
    )


if __name__ == "__main__":
    sys.exit(main())
