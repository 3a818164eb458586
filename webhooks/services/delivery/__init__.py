"""Delivering events to webhooks. `deliver()` is the one entry point: it claims a delivery (and
a batch of its webhook's other pending ones, claiming.py), posts them (posting.py) and records
every attempt, which schedules the next one (recording.py). queueing.py hands deliveries to
workers and sweeps up what has come due.

The retry schedule lives in the database: a failed delivery gets `next_attempt_at`, and the
periodic sweep queues whatever has come due. A task may run twice (acks_late, the sweep as a
backstop), so a run first claims its delivery with a lease, and only if it is still the attempt
the task was queued for and no other worker holds it; a second run does nothing.

A run also claims up to SENDOOK_WEBHOOK_BATCH_SIZE of the same webhook's other pending
deliveries (their own tasks then find them taken), posts them one after another over one
kept-alive connection with no transaction open, and records their attempts in bulk. The lease
lives in `next_attempt_at`, so if the worker dies the sweep finds the batch due once it runs out
and retries it under the same webhook-ids; the cost is that whatever the dead worker had posted
but not yet recorded is sent again, which receivers deduplicate by webhook-id.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from sendook.events.models import Event, EventType
from webhooks import http
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.services.delivery import claiming, posting, recording


def deliver(delivery_id: int, *, expected_attempts: int | None = None) -> DeliveryAttempt | None:
    """Make the next attempt of a delivery, and of a batch of its webhook's other due ones.

    Returns the attempt made for `delivery_id`; None when there is nothing (left) to do.
    `expected_attempts` is how many attempts the delivery had when this run was queued: if it
    changed, or another worker holds the delivery right now, another run made or is making
    this attempt. The deliveries are leased in one short transaction, posted outside any
    transaction over one kept-alive connection, and their attempts recorded together.
    """
    batch = claiming.claim(delivery_id, expected_attempts)
    if batch is None:
        return None
    made = _run(batch)
    return made.get(delivery_id)


# Results wait at most this long before they are recorded, so a worker killed during a batch
# to a slow receiver re-sends only the last few seconds of posts.
_RECORD_EVERY_SECONDS = 2.0


def _run(batch: claiming.Batch) -> dict[int, DeliveryAttempt]:
    """Post a claimed batch in order and record the attempts; returns them by delivery pk."""
    webhook = batch.webhook
    made: dict[int, DeliveryAttempt] = {}
    results: list[tuple[Delivery, http.DeliveryResult]] = []
    waiting_since = started = time.monotonic()
    # A /test ping (always alone in its batch) answers an API request that waits for it: one
    # short deadline bounds its lookup, connect and response together.
    ping = batch.deliveries[0].event.type == EventType.WEBHOOK_TEST
    timeout = settings.SENDOOK_WEBHOOK_TEST_TIMEOUT if ping else settings.SENDOOK_WEBHOOK_TIMEOUT
    vetted = posting.vet(webhook.url, deadline=started + timeout if ping else None)
    for index, delivery in enumerate(batch.deliveries):
        remaining = batch.deliveries[index:]
        clock = time.monotonic()
        if results and (
            clock + timeout + 2 > batch.lease_ends or clock - waiting_since > _RECORD_EVERY_SECONDS
        ):
            # Record what is done, and renew the lease of what is left before a post could
            # outlive it (then only a dead worker's lease ever runs out).
            made.update(recording.record(batch, results, renew=remaining))
            results, waiting_since = [], time.monotonic()
        if delivery.pk in batch.lost:
            continue  # a stalled worker's lapsed lease: another run has this delivery now
        if not webhook.enabled and delivery.event.type != EventType.WEBHOOK_TEST:
            # This batch disabled the webhook (410, or a whole schedule failed): hand the rest
            # back at once; their next run finds the webhook disabled and marks them dead.
            made.update(recording.record(batch, results, release=remaining))
            return made
        if not results:
            waiting_since = time.monotonic()
        results.append(
            (delivery, posting.post(delivery, vetted, started=started if ping else None))
        )
        if recording.disables(delivery, results[-1][1]):
            made.update(recording.record(batch, results))
            results = []
    made.update(recording.record(batch, results))
    return made


def send_test(webhook: Webhook) -> DeliveryAttempt:
    """Deliver a webhook.test event to this webhook only, now, and return the attempt."""
    with transaction.atomic():
        event = Event.objects.create(
            organization=webhook.organization,
            type=EventType.WEBHOOK_TEST,
            payload={"webhookId": webhook.public_id, "message": "A test event from Sendook."},
        )
        delivery = Delivery.objects.create(event=event, webhook=webhook, next_attempt_at=None)
    attempt = deliver(delivery.pk, expected_attempts=0)
    assert attempt is not None  # a fresh delivery always gets its attempt
    return attempt
