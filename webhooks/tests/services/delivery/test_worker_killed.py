"""A real Celery worker on Redis, killed with SIGKILL in the middle of its batches: after a
restart every delivery still arrives, always under the same webhook-id, including the ones the
killed worker had already posted but not yet recorded."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.services.delivery import queueing
from webhooks.tests.receivers import receiver

pytestmark = pytest.mark.integration

BROKER_URL = os.environ.get("SENDOOK_TEST_BROKER_URL", "redis://127.0.0.1:6379/5")
EVENTS = 8
CONCURRENCY = 4
BATCH = 4  # two batches of the eight deliveries, each posting its four in turn


@pytest.fixture
def broker():
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://…: the worker process shares the test database")
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis broker at {BROKER_URL}: {exc}")
    yield client
    client.flushdb()


def start_worker(tmp_path: Path, name: str) -> subprocess.Popen:
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": BROKER_URL,
        "SENDOOK_WEBHOOK_ALLOW_PRIVATE": "true",
        "SENDOOK_WEBHOOK_TIMEOUT": "10",  # the hanging receiver keeps attempts in flight
        "SENDOOK_WEBHOOK_CLAIM_SECONDS": "3",
        "SENDOOK_WEBHOOK_BATCH_SIZE": str(BATCH),
        # The shortest lease a 10 s timeout allows (15 s): the dead worker's batches come due.
        "SENDOOK_WEBHOOK_LEASE_SECONDS": "1",
        "SENDOOK_WEBHOOK_SWEEP_INTERVAL": "1",
        "SENDOOK_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).with_name("celery")), "-A", "sendook", "worker", "-B",
        "-s", str(tmp_path / f"beat-{name}"), "--pool=threads", f"--concurrency={CONCURRENCY}",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
        "--loglevel=WARNING",
    ]  # fmt: skip
    log = open(tmp_path / f"{name}.log", "wb")
    # Its own process group: -B runs beat in a child process, which must die with the worker.
    return subprocess.Popen(
        command,
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker and everything it started (beat), as a crash or OOM kill would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def wait_until(condition, timeout: float, message: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message() if callable(message) else message)


def test_a_worker_killed_mid_delivery_still_delivers_everything_with_stable_ids(
    transactional_db, broker, org, tmp_path, monkeypatch, settings
):
    from celery import Celery

    # A queued delivery not finished within 3 s is the sweep's to queue again (the worker's
    # environment says the same).
    settings.SENDOOK_WEBHOOK_CLAIM_SECONDS = 3

    # Queue exactly as production does: a task per delivery on the Redis broker, on commit.
    sender = Celery("test-sender", broker=BROKER_URL)
    monkeypatch.setattr(
        queueing,
        "enqueue_deliveries",
        lambda pairs: [
            sender.send_task("webhooks.tasks.deliver_webhook", args=[pk, attempts])
            for pk, attempts in pairs
        ],
    )
    answering = threading.Event()
    answered, hanging = [], []

    def answer_once_per_connection_until_killed(exchange):
        if answering.is_set() or exchange.number_on_connection == 0:
            # Before the kill, a batch's first post over a connection succeeds at once; the
            # worker holds that success, unrecorded, while it posts the next one.
            exchange.send(200, b'{"received": true}')
            answered.append(exchange.request.headers["webhook-id"])
            return
        # In flight: the worker is killed while it waits for this answer.
        hanging.append(exchange.request.headers["webhook-id"])
        answering.wait(30)
        exchange.handler.close_connection = True

    workers = []
    with receiver(answer_once_per_connection_until_killed) as hook:
        webhook = Webhook.objects.create(
            organization=org,
            url=hook.url,
            events=[EventType.INBOX_CREATED],
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        hook.secret = webhook.secret
        with transaction.atomic():
            events = [
                record_event(org, event_type=EventType.INBOX_CREATED, payload={"n": n})
                for n in range(EVENTS)
            ]
        try:
            workers.append(start_worker(tmp_path, "first"))
            wait_until(
                lambda: len(hanging) >= EVENTS // BATCH, 60, "the first worker never got stuck"
            )
            kill(workers[0])
            sent = {request.headers["webhook-id"] for request in hook.requests}
            answered_before_kill = set(answered)
            recorded = set(
                Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).values_list(
                    "event__public_id", flat=True
                )
            )
            answering.set()

            workers.append(start_worker(tmp_path, "second"))
            wait_until(
                lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == EVENTS,
                90,  # generous: CI machines are shared and slow under load
                lambda: (
                    "not every delivery arrived after the restart: "
                    + str(
                        list(Delivery.objects.values_list("status", "attempts", "next_attempt_at"))
                    )
                    + (tmp_path / "second.log").read_text(errors="replace")[-3000:]
                ),
            )
        finally:
            for process in workers:
                kill(process)

    event_ids = {event.public_id for event in events}
    received = {}
    for request in hook.requests:
        assert request.verified, request.verify_error
        body = request.json()
        # The same event always travels under the same webhook-id, on every attempt.
        assert request.headers["webhook-id"] == body["id"]
        received.setdefault(body["id"], []).append(request)
    assert set(received) == event_ids
    assert sent <= event_ids
    # The kill landed mid-batch: posts the receiver had answered 200 were not recorded yet.
    lost_successes = answered_before_kill - recorded
    assert lost_successes
    # Everything sent but not recorded when the worker died, whether it was answered or still
    # waiting for an answer, was sent again under its original id; nothing was lost.
    assert all(len(received[event_id]) >= 2 for event_id in sent - recorded)
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == EVENTS
