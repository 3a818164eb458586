"""Deliveries made in leased batches: one run posts a webhook's pending deliveries over one
connection and records every attempt; a batch whose worker died comes back through the sweep
under the same webhook-ids; a 410 mid-batch stops the rest."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from webhooks.models import Delivery, DeliveryAttempt
from webhooks.services import delivery
from webhooks.services.delivery import claiming, queueing
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import ok, receiver
from webhooks.tests.services.delivery.conftest import make_webhook

pytestmark = pytest.mark.django_db

Status = Delivery.Status


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


def test_a_delivery_run_twice_is_delivered_once(api_client, org):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        # acks_late can run the same task twice; the second run finds the work done.
        first = delivery.deliver(row.pk, expected_attempts=0)
        second = delivery.deliver(row.pk, expected_attempts=0)
        assert first is not None and second is None
        assert len(hook.requests) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_concurrent_runs_of_one_delivery_post_once(api_client, org, transactional_db, monkeypatch):
    if not connection.features.has_select_for_update:
        pytest.skip("row locks need PostgreSQL; SQLite runs one process and cannot race here")
    monkeypatch.setattr(queueing, "enqueue_deliveries", lambda pairs: None)  # the threads deliver
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        results = []

        def run():
            results.append(delivery.deliver(row.pk, expected_attempts=0))
            connection.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(hook.requests) == 1
    assert sum(result is not None for result in results) == 1
    assert DeliveryAttempt.objects.count() == 1
