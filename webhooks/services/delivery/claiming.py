"""Claiming: leasing a delivery, and a batch of its webhook's other pending ones, to one run,
so that a task run twice posts once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sendook.events.models import EventType
from webhooks.models import Delivery, Webhook

Status = Delivery.Status


def _open_to_claim(now: datetime) -> Q:
    """Deliveries still to attempt that no live worker holds (a lapsed lease is a dead one's)."""
    return Q(status__in=[Status.PENDING, Status.FAILED]) & (
        Q(lease__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _taken_along() -> Q:
    """What a batch may take besides its own delivery: pending ones (new, or a retry was asked
    for), whose own tasks are queued anyway. Failed ones wait for their scheduled retry and the
    sweep, and a /test ping (no next_attempt_at) is its request's alone."""
    return Q(status=Status.PENDING, next_attempt_at__isnull=False)


def lease_seconds() -> float:
    return max(settings.SENDOOK_WEBHOOK_LEASE_SECONDS, settings.SENDOOK_WEBHOOK_TIMEOUT + 5)


def relax_commit() -> None:
    if connection.vendor == "postgresql":
        # A claim or an attempt record lost in a database crash only means the event may be
        # sent again under the same webhook-id, which receivers deduplicate; so these commits
        # need not wait for a disk flush of the WAL.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


class _Taken:
    """What this process knows without asking the database: deliveries it holds or has
    already moved past a given attempt count.

    A run queued for (delivery, n attempts) has nothing to do while this process holds the
    delivery's lease, nor after this process recorded attempt n+1 (attempts only grow).
    Batches make that the common case, one queued task per delivery taken along, so those runs
    end here instead of on a query each. Entries are made only once their transaction has
    committed, and lapse no later than the lease in the database does (a recorded attempt's
    one lease period after it); past that, or for anything unknown, the database decides.
    """

    LIMIT = 20_000

    def __init__(self) -> None:
        self._entries: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def covers(self, delivery_id: int, attempts: int) -> bool:
        with self._lock:
            entry = self._entries.get(delivery_id)
        return entry is not None and entry[0] == attempts and time.monotonic() < entry[1]

    def hold(self, pairs: list[tuple[int, int]], until: float) -> None:
        """(pk, attempts) pairs: runs expecting these are stale until `until` (monotonic)."""
        transaction.on_commit(lambda: self._set(pairs, until))

    def forget(self, delivery_ids: Iterable[int]) -> None:
        with self._lock:
            for pk in delivery_ids:
                self._entries.pop(pk, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _set(self, pairs: Iterable[tuple[int, int]], until: float) -> None:
        with self._lock:
            for pk, attempts in pairs:
                self._entries[pk] = (attempts, until)
                self._entries.move_to_end(pk)
            while len(self._entries) > self.LIMIT:
                self._entries.popitem(last=False)


taken = _Taken()


def forget_taken() -> None:
    """Drop this process's memory of the deliveries it took. For tests: rolling the database
    back between tests (SQLite then reuses primary keys) invalidates it."""
    taken.clear()


@dataclass
class Batch:
    webhook: Webhook
    deliveries: list[Delivery]  # the queued delivery first, then others of its webhook
    lease: uuid.UUID
    lease_ends: float  # time.monotonic() by which the lease must be renewed
    lost: set[int] = field(default_factory=set)  # deliveries whose lease lapsed: not ours now


def claim(delivery_id: int, expected_attempts: int | None) -> Batch | None:
    if expected_attempts is not None and taken.covers(delivery_id, expected_attempts):
        return None
    # Read both clocks before the lease is written, so this process's idea of when the lease
    # ends is never later than the database's.
    now, clock = timezone.now(), time.monotonic()
    # A cheap look first: most duplicate runs (acks_late, a batch that took this delivery
    # along) end here without a transaction.
    wanted = Delivery.objects.filter(pk=delivery_id).filter(_open_to_claim(now))
    if expected_attempts is not None:
        wanted = wanted.filter(attempts=expected_attempts)
    webhook_id = wanted.values_list("webhook_id", flat=True).first()
    if webhook_id is None:
        return None
    rows = Delivery.objects.filter(_open_to_claim(now), webhook_id=webhook_id)
    if connection.features.has_select_for_update_skip_locked:
        # Rows another worker is claiming right now are its own; SQLite, which has no row
        # locks, serializes whole transactions instead.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    with transaction.atomic():
        relax_commit()
        first = rows.select_related("webhook__organization", "event").filter(pk=delivery_id)
        if expected_attempts is not None:
            first = first.filter(attempts=expected_attempts)
        delivery = first.first()
        if delivery is None:
            return None
        claimed = [delivery]
        size = settings.SENDOOK_WEBHOOK_BATCH_SIZE
        webhook = delivery.webhook
        # A /test ping answers an API request: it goes alone.
        if size > 1 and webhook.enabled and delivery.event.type != EventType.WEBHOOK_TEST:
            # The webhook and its organization are the first delivery's: not loaded per row.
            others = rows.select_related("event").filter(_taken_along()).exclude(pk=delivery_id)
            others = others.order_by("pk")
            claimed += others[: size - 1]
        if not webhook.enabled:
            # Only a /test ping still goes to a disabled webhook.
            dead = [row.pk for row in claimed if row.event.type != EventType.WEBHOOK_TEST]
            Delivery.objects.filter(pk__in=dead).update(
                status=Status.DEAD, next_attempt_at=None, last_error="webhook disabled",
                lease=None, updated_at=now,
            )  # fmt: skip
            claimed = [row for row in claimed if row.pk not in dead]
            if not claimed:
                return None
        lease = uuid.uuid4()
        seconds = lease_seconds()
        Delivery.objects.filter(pk__in=[row.pk for row in claimed]).update(
            lease=lease, next_attempt_at=now + timedelta(seconds=seconds), updated_at=now
        )
        batch = Batch(webhook, claimed, lease, clock + seconds)
        taken.hold([(row.pk, row.attempts) for row in claimed], batch.lease_ends)
    for row in claimed:
        row.webhook = webhook  # one instance, so a disable is seen by the whole batch
        row.event.organization = webhook.organization  # a webhook gets its own org's events
    return batch
