"""Queueing: deliveries handed to workers only after the commit, the sweep of what has come
due, retries asked for through the API; and the embedded default (no broker), where
deliveries run on a background thread after the commit, never inside the request that
recorded the event."""

import time
from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks import tasks
from webhooks.models import Delivery, Webhook
from webhooks.services import delivery
from webhooks.services.delivery import claiming, queueing
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import hang, ok, receiver
from webhooks.tests.services.delivery.conftest import make_webhook

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def background(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Undo the tests' inline stand-in: this test is about the real background thread.
    monkeypatch.setattr(queueing, "run_in_background", _real_run_in_background)


_real_run_in_background = queueing.run_in_background


def wait_for_status(event, status, timeout=15.0):
    end, seen = time.monotonic() + timeout, None
    while time.monotonic() < end:
        try:
            seen = Delivery.objects.get(event=event).status
        except OperationalError as exc:
            # The test database is SQLite's shared-cache in-memory one, whose table locks are
            # not waited on: a read that meets the background writer is simply tried again.
            if "locked" not in str(exc):
                raise
        if seen == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"delivery still {seen}")


def test_a_committed_event_is_delivered_in_the_background(transactional_db, org, background):
    with receiver(ok()) as hook:
        webhook = Webhook.objects.create(
            organization=org, url=hook.url, events=[EventType.INBOX_CREATED],
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )  # fmt: skip
        hook.secret = webhook.secret
        with transaction.atomic():
            event = record_event(org, event_type=EventType.INBOX_CREATED, payload={})
        [request] = hook.wait_for_requests(1)
        wait_for_status(event, Delivery.Status.SUCCEEDED)
    assert request.verified and request.headers["webhook-id"] == event.public_id


def test_a_hanging_endpoint_does_not_hold_up_the_request(
    transactional_db, api_client, org, background, settings
):
    settings.SENDOOK_WEBHOOK_TIMEOUT = 6.0
    with receiver(hang()) as hook:
        Webhook.objects.create(
            organization=org, url=hook.url, events=[EventType.INBOX_CREATED],
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )  # fmt: skip
        started = time.monotonic()
        response = api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        elapsed = time.monotonic() - started
        assert response.status_code == 201
        assert elapsed < 4.0  # the endpoint hangs for the whole 6 s delivery timeout
        hook.wait_for_requests(1)
        wait_for_status(Delivery.objects.get().event, Delivery.Status.FAILED)


def test_deliveries_are_queued_on_commit_never_inside_the_request(api_client, org):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url, events=["inbox.created"])
        # No commit happens inside this test's transaction, so nothing may have been posted.
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        assert hook.requests == []
    row = Delivery.objects.get()
    assert row.status == Status.PENDING and row.attempts == 0 and row.next_attempt_at


def test_the_sweep_queues_due_deliveries_once_per_claim(
    api_client, org, settings, monkeypatch, on_commit
):
    settings.SENDOOK_WEBHOOK_CLAIM_SECONDS = 300
    create_webhook(api_client, "http://127.0.0.1:9/")
    api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    row = Delivery.objects.get()
    assert queueing.sweep_due_deliveries() == 0  # freshly queued: its claim has not lapsed
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    # With a broker, the sweep hands due rows to Celery (recorded here instead of sent).
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda *args: queued.append(args))
    with on_commit():
        assert queueing.sweep_due_deliveries() == 1
    with on_commit():
        assert queueing.sweep_due_deliveries() == 0  # claimed for the next 300 s
    assert queued == [(row.pk, 0)]
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=250)


def test_a_dead_delivery_can_be_retried_by_delivery_or_event_id(api_client, settings, on_commit):
    settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE = []
    responses = iter([500, 200])
    with receiver(lambda exchange: exchange.send(next(responses))) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        assert row.status == Status.DEAD
        # One attempt was the whole (empty) schedule: the webhook was disabled; enable it again.
        api_client.patch(f"/v1/webhooks/{webhook['id']}", {"enabled": True}, format="json")
        with on_commit():
            response = api_client.post(
                f"/v1/webhooks/{webhook['id']}/deliveries/{row.event.public_id}/retry"
            )
        assert response.status_code == 202
        assert (
            response.json()["id"] == row.public_id
            and response.json()["eventId"] == row.event.public_id
        )
        hook.wait_for_requests(2)
    row.refresh_from_db()
    assert row.status == Status.SUCCEEDED and row.attempts == 2
    again = api_client.post(f"/v1/webhooks/{webhook['id']}/deliveries/{row.public_id}/retry")
    assert again.status_code == 409 and again.json()["code"] == "delivery_not_retryable"
    missing = api_client.post(f"/v1/webhooks/{webhook['id']}/deliveries/whdlv_nope/retry")
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"
    deliveries = api_client.get(f"/v1/webhooks/{webhook['id']}/deliveries").json()
    assert [d["status"] for d in deliveries] == ["succeeded"]


def test_retrying_needs_an_enabled_webhook(api_client, org):
    webhook = Webhook.objects.create(
        organization=org,
        url="http://127.0.0.1:9/",
        events=["inbox.created"],
        secret="whsec_" + "A" * 44,
        enabled=False,
    )
    event = record_event(org, event_type=EventType.INBOX_CREATED, payload={})
    row = Delivery.objects.create(event=event, webhook=webhook, status=Status.DEAD, attempts=4)
    response = api_client.post(f"/v1/webhooks/{webhook.public_id}/deliveries/{row.public_id}/retry")
    assert response.status_code == 409 and response.json()["code"] == "webhook_disabled"


def test_retrying_a_delivery_while_a_worker_holds_it_does_not_send_it_twice(
    org, settings, queued, record
):
    with receiver(ok()) as hook:
        make_webhook(org, hook.url)
        record(1)
        row = Delivery.objects.get()
        Delivery.objects.filter(pk=row.pk).update(status=Status.FAILED, attempts=1)
        batch = claiming.claim(row.pk, 1)  # a worker is making the due retry
        row.refresh_from_db()
        retried = queueing.retry_delivery(row)
        assert retried.lease == batch.lease
        for pk, attempts in queued:
            delivery.deliver(pk, expected_attempts=attempts)
        delivery._run(batch)
        assert len(hook.requests) == 1
    row.refresh_from_db()
    assert row.status == Status.SUCCEEDED and row.attempts == 2
