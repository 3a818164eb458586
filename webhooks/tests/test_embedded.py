"""The embedded default (no broker): deliveries run on a background thread after the commit,
never inside the request that recorded the event."""

import time

import pytest
from django.db import OperationalError, transaction

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks.models import Delivery, Webhook
from webhooks.services.delivery import queueing
from webhooks.tests.receivers import hang, ok, receiver


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


def test_a_hanging_endpoint_does_not_hold_up_the_request(transactional_db, api_client, org, background, settings):
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
