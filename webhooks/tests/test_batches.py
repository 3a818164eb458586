"""Deliveries made in leased batches: one run posts a webhook's pending deliveries over one
connection and records every attempt; a batch whose worker died comes back through the sweep
under the same webhook-ids; a 410 mid-batch stops the rest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.services import delivery
from webhooks.services.delivery import claiming, queueing
from webhooks.tests.receivers import ok, receiver, status

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def queued(monkeypatch):
    """What on-commit queueing hands to workers, kept here for the test to run by hand."""
    jobs = []
    monkeypatch.setattr(queueing, "enqueue_deliveries", lambda pairs: jobs.extend(pairs))
    return jobs


@pytest.fixture
def record(org, on_commit):
    def record(count):
        with on_commit():  # the events' transaction commits: their deliveries are queued
            return [
                record_event(org, event_type=EventType.INBOX_CREATED, payload={"n": n})
                for n in range(count)
            ]

    return record


def make_webhook(org, url, secret="whsec_" + "B" * 44):
    return Webhook.objects.create(
        organization=org, url=url, events=[EventType.INBOX_CREATED], secret=secret
    )


def test_one_run_posts_the_webhooks_pending_deliveries_over_one_connection(
    org, settings, queued, record
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    with receiver(ok()) as hook:
        webhook = make_webhook(org, hook.url)
        hook.secret = webhook.secret
        events = record(6)
        first = Delivery.objects.order_by("pk").first()
        attempt = delivery.deliver(first.pk, expected_attempts=0)
        # The other deliveries' own runs find their work done.
        assert [delivery.deliver(pk, expected_attempts=0) for pk, _ in queued[1:]] == [None] * 5
        assert hook.connections == 1
    assert attempt is not None and attempt.succeeded and attempt.delivery_id == first.pk
    assert [request.headers["webhook-id"] for request in hook.requests] == [
        event.public_id for event in events
    ]
    assert all(request.verified for request in hook.requests)
    rows = Delivery.objects.all()
    assert {(row.status, row.attempts, row.lease) for row in rows} == {(Status.SUCCEEDED, 1, None)}
    assert DeliveryAttempt.objects.filter(succeeded=True, status_code=200).count() == 6


def test_a_batch_takes_at_most_the_batch_size_and_only_one_webhooks_deliveries(
    org, settings, queued, record
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 3
    with receiver(ok()) as one, receiver(ok()) as other:
        make_webhook(org, one.url)
        make_webhook(org, other.url)
        record(5)
        first = Delivery.objects.filter(webhook__url=one.url).order_by("pk").first()
        delivery.deliver(first.pk, expected_attempts=0)
        assert len(one.requests) == 3 and not other.requests
    assert Delivery.objects.filter(status=Status.SUCCEEDED).count() == 3
    assert Delivery.objects.filter(status=Status.PENDING, lease=None).count() == 7


def test_a_dead_workers_batch_is_swept_back_and_sent_under_the_same_ids(
    org, settings, queued, record, on_commit
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    with receiver(ok()) as hook:
        make_webhook(org, hook.url)
        events = record(4)
        first = Delivery.objects.order_by("pk").first()
        # A worker leases the batch, then dies before posting or recording anything.
        batch = claiming.claim(first.pk, 0)
        assert batch is not None and len(batch.deliveries) == 4
        claiming.forget_taken()  # the dead worker's memory went with it
        assert queueing.sweep_due_deliveries() == 0  # leased: not due while the lease runs
        assert [delivery.deliver(pk, expected_attempts=0) for pk, _ in queued] == [None] * 4
        assert not hook.requests

        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        queued.clear()
        with on_commit():
            assert queueing.sweep_due_deliveries() == 4
        assert len(queued) == 4
        for pk, attempts in queued:
            delivery.deliver(pk, expected_attempts=attempts)
    assert sorted(request.headers["webhook-id"] for request in hook.requests) == sorted(
        event.public_id for event in events
    )
    assert {(row.status, row.attempts) for row in Delivery.objects.all()} == {(Status.SUCCEEDED, 1)}


def test_a_410_mid_batch_disables_the_webhook_and_the_rest_are_not_posted(
    org, settings, queued, record
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    with receiver(status(410)) as hook:
        webhook = make_webhook(org, hook.url)
        record(3)
        first = Delivery.objects.order_by("pk").first()
        delivery.deliver(first.pk, expected_attempts=0)
        assert len(hook.requests) == 1
        # The rest were handed back; their next runs find the webhook disabled.
        for pk, attempts in list(queued):
            delivery.deliver(pk, expected_attempts=attempts)
        assert len(hook.requests) == 1
    webhook.refresh_from_db()
    assert not webhook.enabled and "410" in webhook.disabled_reason
    rows = Delivery.objects.order_by("pk")
    assert [(row.status, row.attempts) for row in rows] == [
        (Status.DEAD, 1), (Status.DEAD, 0), (Status.DEAD, 0),
    ]  # fmt: skip
    assert [row.last_error for row in rows][1:] == ["webhook disabled"] * 2


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


def test_a_worker_that_lost_a_lease_does_not_post_or_record_that_delivery(
    org, settings, queued, record, monkeypatch
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    monkeypatch.setattr(delivery, "_RECORD_EVERY_SECONDS", 0.0)  # record after every post
    with receiver(ok()) as hook:
        make_webhook(org, hook.url)
        events = record(3)
        first = Delivery.objects.order_by("pk").first()
        batch = claiming.claim(first.pk, 0)
        # The worker stalled past its lease; the sweep gave the second delivery to another run.
        stolen = batch.deliveries[1]
        Delivery.objects.filter(pk=stolen.pk).update(lease=None)
        delivery._run(batch)
    assert [request.headers["webhook-id"] for request in hook.requests] == [
        events[0].public_id,
        events[2].public_id,
    ]
    stolen.refresh_from_db()
    assert stolen.status == Status.PENDING and stolen.attempts == 0
    assert not DeliveryAttempt.objects.filter(delivery=stolen).exists()
