"""The real thing: a Celery worker on the Redis broker, Anymail's SES backend, moto's SES.

These need PostgreSQL (the worker is another process and must see the test database; SQLite's
in-memory test database cannot be shared) and Redis (CELERY_BROKER_URL, else db 3 locally).
"""

import base64
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from django.conf import settings as django_settings

from messages.models import Message

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs DATABASE_URL=postgres://…: the worker process must share the test database",
    ),
]

BROKER_URL = os.environ.get("SENDOOK_TEST_BROKER_URL", "redis://127.0.0.1:6379/3")
CONCURRENCY = 2
ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.process = env, log, None

    def start(self) -> None:
        self.log.write_text("")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sendook",
                "worker",
                "-l",
                "info",
                "--concurrency",
                str(CONCURRENCY),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches the pool children
        )
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "celery worker did not start:\n" + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# Module scope: the worker must be gone before other modules start workers of their own on the
# same broker (a leftover worker would take their tasks).
@pytest.fixture(scope="module")
def worker(django_db_setup, moto_server, tmp_path_factory):
    """A real `celery -A sendook worker` on the PostgreSQL *test* database and Redis."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()  # our own db number: stale tasks of earlier runs
    database = django_settings.DATABASES["default"]
    media = tmp_path_factory.mktemp("worker-media")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": BROKER_URL,
        "EMAIL_BACKEND": "anymail.backends.amazon_ses.EmailBackend",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_REGION": "us-east-1",
        "MEDIA_ROOT": str(media),
        "SENDOOK_SEND_MAX_RETRIES": "2",
        # A message the killed worker had handed to SES but not recorded is failed (not resent)
        # after this lease; short, so the kill test settles in seconds.
        "SENDOOK_SEND_CLAIM_SECONDS": "3",
    }
    process = Worker(env, tmp_path_factory.mktemp("worker-log") / "worker.log")
    process.media = media
    process.start()
    yield process
    process.stop()


@pytest.fixture
def live(worker, aws, settings):
    """This process enqueues onto the real broker and shares the worker's storage."""
    from sendook.celery import app

    settings.MEDIA_ROOT = worker.media
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    ses = boto3.client("ses", region_name="us-east-1", endpoint_url=aws)
    ses.verify_domain_identity(Domain=settings.SENDOOK_DEFAULT_DOMAIN)
    ses.verify_email_identity(EmailAddress=settings.SENDOOK_DEFAULT_DOMAIN)
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = BROKER_URL, False
    app._pool = None
    app.amqp._producer_pool = None
    yield worker
    app.conf.broker_url, app.conf.task_always_eager = saved
    app._pool = None
    app.amqp._producer_pool = None


def sent_at_moto(moto_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    return data.get("ses", {}).get("RawMessage", [])


def wait_until(predicate, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def settled(message_ids) -> bool:
    return not Message.objects.filter(public_id__in=message_ids, status="queued").exists()


@pytest.mark.django_db(transaction=True)
def test_send_and_reply_through_the_real_worker_reach_ses_as_we_built_them(
    live, api_client, inbox, aws
):
    pdf = bytes(range(256)) * 4
    body = {
        "to": ["Alice <alice@example.com>"],
        "cc": ["carol@example.com"],
        "bcc": ["secret@example.com"],
        "subject": "Quarterly report",
        "text": "Numbers attached.",
        "html": "<p>Numbers attached.</p>",
        "attachments": [
            {
                "content": base64.b64encode(pdf).decode(),
                "name": "report.pdf",
                "contentType": "application/pdf",
            }
        ],
    }
    response = api_client.post(f"/v1/inboxes/{inbox.public_id}/messages/send", body, format="json")
    assert response.status_code == 202, response.json()
    sent = response.json()
    assert wait_until(lambda: settled([sent["id"]])), live.log.read_text()[-3000:]
    message = Message.objects.get(public_id=sent["id"])
    assert message.status == "sent", message.status_reason

    [arrived] = sent_at_moto(aws)
    assert arrived["id"] == message.external_message_id
    raw = arrived["raw_data"].encode()
    assert raw.replace(b"\r\n", b"\n") == message.raw.read().replace(b"\r\n", b"\n")
    mime = email.message_from_bytes(raw, policy=email.policy.default)
    assert mime["Message-ID"] == sent["messageId"] == f"<{sent['id']}@sendook.localhost>"
    assert (
        mime["From"].addresses[0].addr_spec == inbox.email
        and mime["From"].addresses[0].display_name == inbox.name
    )
    assert mime["To"] == "Alice <alice@example.com>" and mime["Cc"] == "carol@example.com"
    assert "Bcc" not in mime and b"secret@example.com" not in raw
    assert "secret@example.com" in arrived["destinations"]  # BCC lives in the envelope only
    [attachment] = list(mime.iter_attachments())
    assert attachment.get_content() == pdf and attachment.get_filename() == "report.pdf"
    assert mime.get_body(("html",)).get_content().strip() == "<p>Numbers attached.</p>"

    reply = api_client.post(
        f"/v1/inboxes/{inbox.public_id}/messages/{sent['id']}/reply",
        {"text": "One more thing"},
        format="json",
    ).json()
    assert wait_until(lambda: settled([reply["id"]]))
    arrived_reply = email.message_from_string(
        sent_at_moto(aws)[1]["raw_data"], policy=email.policy.default
    )
    assert (
        arrived_reply["In-Reply-To"] == sent["messageId"]
        and arrived_reply["References"] == sent["messageId"]
    )
    assert (
        arrived_reply["Subject"] == "Re: Quarterly report"
        and arrived_reply["To"] == "Alice <alice@example.com>"
    )
    assert Message.objects.get(public_id=reply["id"]).thread.public_id == sent["threadId"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_burst_loses_nothing_and_sends_nothing_twice(
    live, inbox, aws, settings
):
    from django.db import transaction

    from messages.services.send import send_message

    # One commit, so all 50 tasks reach the broker at once and the kill lands mid-burst.
    with transaction.atomic():
        ids = [
            send_message(
                inbox, to=[f"r{index}@example.com"], subject=f"burst {index}", text="x"
            ).public_id
            for index in range(50)
        ]
    assert wait_until(
        lambda: Message.objects.filter(public_id__in=ids, status="sent").count() >= 5, interval=0.01
    )
    live.kill()
    killed_at = Message.objects.filter(public_id__in=ids, status="sent").count()
    live.start()
    # Tasks the dead worker had taken stay unacknowledged in Redis until the visibility timeout;
    # the periodic sweep is what brings them back (run here instead of waiting for beat).
    from messages.tasks import requeue_stuck_messages

    settings.SENDOOK_REQUEUE_AFTER_SECONDS = 1
    assert wait_until(
        lambda: (requeue_stuck_messages() or True) and settled(ids), timeout=90, interval=1.5
    ), (
        Message.objects.filter(public_id__in=ids)
        .exclude(status="sent")
        .values_list("public_id", "status", "status_reason")
    )
    from messages.services.delivery import OUTCOME_UNKNOWN

    sent_ids = set(
        Message.objects.filter(public_id__in=ids, status="sent").values_list("public_id", flat=True)
    )
    unknown = set(
        Message.objects.filter(
            public_id__in=ids, status="failed", status_reason=OUTCOME_UNKNOWN
        ).values_list("public_id", flat=True)
    )
    # Every message is sent, or (only one the dead worker was handing to SES) failed with the
    # reason that says its outcome is unknown.
    assert len(sent_ids) + len(unknown) == 50 and len(unknown) <= CONCURRENCY, (killed_at, unknown)
    counts: dict[str, int] = {}
    for arrived in sent_at_moto(aws):
        message_id = email.message_from_string(arrived["raw_data"], policy=email.policy.default)[
            "Message-ID"
        ]
        counts[message_id] = counts.get(message_id, 0) + 1
    assert {f"<{i}@sendook.localhost>" for i in sent_ids} <= set(
        counts
    )  # none recorded sent is lost
    assert set(counts) <= {f"<{i}@sendook.localhost>" for i in ids}
    # The claim is committed before SES is called: not even a message in flight goes out twice.
    duplicates = sum(count - 1 for count in counts.values())
    assert duplicates == 0, (duplicates, killed_at)


@pytest.mark.django_db(transaction=True)
def test_a_held_first_contact_reaches_ses_once_with_the_approvers_edit_and_the_next_goes_straight(
    live, api_client, inbox, aws
):
    base = f"/v1/inboxes/{inbox.public_id}"
    policy = {"sendPolicy": {"approval": "first_contact"}}
    assert api_client.patch(base, policy, format="json").status_code == 200
    body = {"to": ["new.customer@example.com"], "subject": "Welcome", "text": "Agent draft"}
    held = api_client.post(f"{base}/messages/send", body, format="json")
    assert held.status_code == 202 and held.json()["status"] == "pending_approval"
    assert held.json()["hold"]["recipients"] == ["new.customer@example.com"]
    time.sleep(1.5)  # a worker that wrongly had the message would have sent it by now
    assert sent_at_moto(aws) == []

    approved = api_client.post(
        f"{base}/messages/{held.json()['id']}/approve", {"text": "Edited by Dana"}, format="json"
    )
    assert approved.status_code == 202
    assert wait_until(lambda: settled([held.json()["id"]])), live.log.read_text()[-3000:]
    [arrived] = sent_at_moto(aws)
    mime = email.message_from_string(arrived["raw_data"], policy=email.policy.default)
    assert mime.get_body(("plain",)).get_content().strip() == "Edited by Dana"
    message = Message.objects.get(public_id=held.json()["id"])
    assert message.status == "sent" and message.approved_by["type"] == "api_key"
    assert message.review["originalText"] == "Agent draft"

    again = api_client.post(f"{base}/messages/send", body, format="json").json()
    assert again["status"] == "queued"
    assert wait_until(lambda: settled([again["id"]]))
    assert len(sent_at_moto(aws)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_send_cancelled_in_its_hold_window_never_reaches_ses_and_one_left_alone_does(
    live, api_client, inbox, aws
):
    from messages.tasks import release_scheduled_messages

    base = f"/v1/inboxes/{inbox.public_id}"
    api_client.patch(base, {"sendPolicy": {"holdSeconds": 2}}, format="json")
    body = {"to": ["ada@example.com"], "subject": "Undo me", "text": "x"}
    undone = api_client.post(f"{base}/messages/send", body, format="json").json()
    kept = api_client.post(f"{base}/messages/send", {**body, "subject": "Keep"}, format="json")
    assert undone["status"] == kept.json()["status"] == "scheduled"
    cancel = api_client.post(f"{base}/messages/{undone['id']}/cancel", {}, format="json")
    assert cancel.status_code == 200
    release_scheduled_messages()  # what beat runs every few seconds: nothing is due yet
    time.sleep(2.2)
    assert release_scheduled_messages() == 1
    assert wait_until(lambda: settled([kept.json()["id"]]))
    assert [
        email.message_from_string(m["raw_data"], policy=email.policy.default)["Subject"]
        for m in sent_at_moto(aws)
    ] == ["Keep"]
    assert Message.objects.get(public_id=undone["id"]).status == "cancelled"
