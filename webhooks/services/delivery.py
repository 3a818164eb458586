"""Delivering events to webhooks, recording every attempt, and scheduling the next one.

The retry schedule lives in the database: a failed delivery gets `next_attempt_at`, and the
periodic sweep queues whatever has come due. A task may run twice (acks_late, the sweep as a
backstop), so a run first claims its delivery with a lease, and only if it is still the attempt
the task was queued for and no other worker holds it; a second run does nothing.

A run also claims up to SENDOOK_WEBHOOK_BATCH_SIZE of the same webhook's other pending
deliveries (their own tasks then find them taken), posts them one after another over one kept-alive
connection with no transaction open, and records their attempts in bulk. The lease lives in
`next_attempt_at`, so if the worker dies the sweep finds the batch due once it runs out and
retries it under the same webhook-ids; the cost is that whatever the dead worker had posted
but not yet recorded is sent again, which receivers deduplicate by webhook-id.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks import http, signing
from webhooks.exceptions import DeliveryNotRetryable, WebhookDisabled
from webhooks.models import Delivery, DeliveryAttempt, Event, EventType, Webhook
from webhooks.services.events import build_envelope, record_event
from webhooks.ssrf import Resolver, UnsafeUrlError, VettedUrl, vet_url

logger = logging.getLogger(__name__)

# Host name resolver used by the SSRF checks (None: the system resolver). Tests swap it to
# make a name resolve somewhere else between create time and delivery time.
resolver: Resolver | None = None

Status = Delivery.Status


# --- queueing -------------------------------------------------------------------------------


def enqueue_deliveries(deliveries: Iterable[tuple[int, int]]) -> None:
    """Hand (delivery pk, attempts so far) pairs to workers. Call after the rows are committed.

    With a broker each becomes a Celery task. In the embedded default (no broker, tasks run
    in-process) they run on a small background thread pool, so an API request that records an
    event never waits on a customer's endpoint.
    """
    from webhooks.tasks import deliver_webhook

    for delivery_id, attempts in deliveries:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            run_in_background(_deliver_embedded, delivery_id, attempts)
        else:
            deliver_webhook.delay(delivery_id, attempts)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def run_in_background(function: Callable[..., Any], *args: Any) -> None:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhooks")
    _executor.submit(_on_own_connection, function, *args)


def _on_own_connection(function: Callable[..., Any], *args: Any) -> None:
    try:
        function(*args)
    finally:
        connections.close_all()  # this thread's connections, opened for this job


def _deliver_embedded(delivery_id: int, attempts: int) -> None:
    try:
        deliver(delivery_id, expected_attempts=attempts)
    except Exception:  # a background thread is a process edge: log, the sweep retries
        logger.exception("webhook delivery %s failed", delivery_id)


def sweep_due_deliveries(*, limit: int | None = None) -> int:
    """Queue every delivery whose next attempt is due; returns how many were queued.

    Each queued row's next_attempt_at moves one claim period ahead, so the next sweep does not
    queue it again while it waits in the broker, yet finds it if that task is lost. A row whose
    lease ran out (its worker died mid-batch) is due like any other and loses the dead lease.
    Rows being claimed right now are locked and skipped.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.SENDOOK_WEBHOOK_CLAIM_SECONDS)
    with transaction.atomic():
        rows = Delivery.objects.filter(
            status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now
        ).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        due = list(
            rows.values_list("pk", "attempts")[: limit or settings.SENDOOK_WEBHOOK_SWEEP_BATCH]
        )
        if due:
            Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(
                next_attempt_at=claim_until, lease=None, updated_at=now
            )
            transaction.on_commit(lambda: enqueue_deliveries(due))
    return len(due)


# --- attempts -------------------------------------------------------------------------------


def deliver(delivery_id: int, *, expected_attempts: int | None = None) -> DeliveryAttempt | None:
    """Make the next attempt of a delivery, and of a batch of its webhook's other due ones.

    Returns the attempt made for `delivery_id`; None when there is nothing (left) to do.
    `expected_attempts` is how many attempts the delivery had when this run was queued: if it
    changed, or another worker holds the delivery right now, another run made or is making
    this attempt. The deliveries are leased in one short transaction, posted outside any
    transaction over one kept-alive connection, and their attempts recorded together.
    """
    batch = _claim(delivery_id, expected_attempts)
    if batch is None:
        return None
    made = _run(batch)
    return made.get(delivery_id)


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


def _lease_seconds() -> float:
    return max(settings.SENDOOK_WEBHOOK_LEASE_SECONDS, settings.SENDOOK_WEBHOOK_TIMEOUT + 5)


def _relax_commit() -> None:
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


_taken = _Taken()


def forget_taken() -> None:
    """Drop this process's memory of the deliveries it took. For tests: rolling the database
    back between tests (SQLite then reuses primary keys) invalidates it."""
    _taken.clear()


@dataclass
class _Batch:
    webhook: Webhook
    deliveries: list[Delivery]  # the queued delivery first, then others of its webhook
    lease: uuid.UUID
    lease_ends: float  # time.monotonic() by which the lease must be renewed
    lost: set[int] = field(default_factory=set)  # deliveries whose lease lapsed: not ours now


def _claim(delivery_id: int, expected_attempts: int | None) -> _Batch | None:
    if expected_attempts is not None and _taken.covers(delivery_id, expected_attempts):
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
        _relax_commit()
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
        lease_seconds = _lease_seconds()
        Delivery.objects.filter(pk__in=[row.pk for row in claimed]).update(
            lease=lease, next_attempt_at=now + timedelta(seconds=lease_seconds), updated_at=now
        )
        batch = _Batch(webhook, claimed, lease, clock + lease_seconds)
        _taken.hold([(row.pk, row.attempts) for row in claimed], batch.lease_ends)
    for row in claimed:
        row.webhook = webhook  # one instance, so a disable is seen by the whole batch
        row.event.organization = webhook.organization  # a webhook gets its own org's events
    return batch


# Results wait at most this long before they are recorded, so a worker killed during a batch
# to a slow receiver re-sends only the last few seconds of posts.
_RECORD_EVERY_SECONDS = 2.0


def _run(batch: _Batch) -> dict[int, DeliveryAttempt]:
    """Post a claimed batch in order and record the attempts; returns them by delivery pk."""
    webhook = batch.webhook
    made: dict[int, DeliveryAttempt] = {}
    results: list[tuple[Delivery, http.DeliveryResult]] = []
    waiting_since = started = time.monotonic()
    # A /test ping (always alone in its batch) answers an API request that waits for it: one
    # short deadline bounds its lookup, connect and response together.
    ping = batch.deliveries[0].event.type == EventType.WEBHOOK_TEST
    timeout = settings.SENDOOK_WEBHOOK_TEST_TIMEOUT if ping else settings.SENDOOK_WEBHOOK_TIMEOUT
    vetted = _vet(webhook.url, deadline=started + timeout if ping else None)
    for index, delivery in enumerate(batch.deliveries):
        remaining = batch.deliveries[index:]
        clock = time.monotonic()
        if results and (
            clock + timeout + 2 > batch.lease_ends or clock - waiting_since > _RECORD_EVERY_SECONDS
        ):
            # Record what is done, and renew the lease of what is left before a post could
            # outlive it (then only a dead worker's lease ever runs out).
            made.update(_record(batch, results, renew=remaining))
            results, waiting_since = [], time.monotonic()
        if delivery.pk in batch.lost:
            continue  # a stalled worker's lapsed lease: another run has this delivery now
        if not webhook.enabled and delivery.event.type != EventType.WEBHOOK_TEST:
            # This batch disabled the webhook (410, or a whole schedule failed): hand the rest
            # back at once; their next run finds the webhook disabled and marks them dead.
            made.update(_record(batch, results, release=remaining))
            return made
        if not results:
            waiting_since = time.monotonic()
        results.append((delivery, _post(delivery, vetted, started=started if ping else None)))
        if _disables(delivery, results[-1][1]):
            made.update(_record(batch, results))
            results = []
    made.update(_record(batch, results))
    return made


# Host name lookups of /test pings, run where the request can stop waiting for them (the
# system resolver cannot be interrupted); a few threads, as only requests use it.
_ping_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-ping-dns")


class _LookupTimedOut(Exception):
    pass


def _vet(url: str, *, deadline: float | None) -> VettedUrl | UnsafeUrlError | _LookupTimedOut:
    def vet() -> VettedUrl | UnsafeUrlError:
        try:
            return vet_url(
                url, allow_private=settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE, resolver=resolver
            )
        except UnsafeUrlError as exc:
            return exc

    if deadline is None:
        return vet()
    lookup = _ping_lookups.submit(vet)
    try:
        return lookup.result(timeout=max(deadline - time.monotonic(), 0))
    except FuturesTimeout:
        return _LookupTimedOut()


def _post(
    delivery: Delivery,
    vetted: VettedUrl | UnsafeUrlError | _LookupTimedOut,
    *,
    started: float | None = None,
) -> http.DeliveryResult:
    """Post one delivery; `started` set = a /test ping, bounded by SENDOOK_WEBHOOK_TEST_TIMEOUT
    from then (its lookup included) instead of the usual per-post timeouts."""
    if isinstance(vetted, UnsafeUrlError):
        return http.refused(vetted, started=started)
    ping = started is not None
    total = settings.SENDOOK_WEBHOOK_TEST_TIMEOUT if ping else settings.SENDOOK_WEBHOOK_TIMEOUT
    if isinstance(vetted, _LookupTimedOut):
        duration_ms = int((time.monotonic() - (started or 0)) * 1000)
        return http.DeliveryResult(
            None, False, f"timed out after {total:g} s resolving the host", duration_ms, ""
        )
    event = delivery.event
    body = json.dumps(build_envelope(event), separators=(",", ":"), ensure_ascii=False).encode()
    # webhook-id is the event id on every attempt, so receivers can deduplicate retries.
    headers = signing.headers(
        delivery.webhook.secret, msg_id=event.public_id, timestamp=int(time.time()), body=body
    )
    return http.post_to(
        vetted,
        body=body,
        headers=headers,
        connect_timeout=min(settings.SENDOOK_WEBHOOK_CONNECT_TIMEOUT, total),
        total_timeout=total,
        max_response_bytes=settings.SENDOOK_WEBHOOK_MAX_RESPONSE_BYTES,
        started=started,
    )


def _disables(delivery: Delivery, result: http.DeliveryResult) -> bool:
    """Whether recording this result disables the webhook (see _apply)."""
    if result.ok or delivery.event.type == EventType.WEBHOOK_TEST:
        return False
    return result.status_code == 410 or (
        delivery.attempts + 1 == len(settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE) + 1
    )


_RECORDED_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
    "lease",
    "updated_at",
]


def _record(
    batch: _Batch,
    results: list[tuple[Delivery, http.DeliveryResult]],
    *,
    renew: Iterable[Delivery] = (),
    release: Iterable[Delivery] = (),
) -> dict[int, DeliveryAttempt]:
    """Record attempts in one transaction, for the deliveries this batch still holds; renew or
    give back the lease of the batch's others."""
    renew, release = [row.pk for row in renew], [row.pk for row in release]
    posted = [delivery.pk for delivery, _ in results]
    if not (posted or renew or release):
        return {}
    webhook = batch.webhook
    with transaction.atomic():
        _relax_commit()
        held = set(
            Delivery.objects.select_for_update()
            .filter(pk__in=posted + renew + release, lease=batch.lease)
            .values_list("pk", flat=True)
        )
        now, clock = timezone.now(), time.monotonic()
        attempts: list[DeliveryAttempt] = []
        changed: list[Delivery] = []
        done: list[tuple[int, int]] = []
        disable_reason = ""
        for delivery, result in results:
            if delivery.pk not in held:
                # Only a worker stalled past its lease gets here: the sweep gave the delivery
                # to another run, which re-sends it under the same webhook-id.
                logger.warning("lease on webhook delivery %s lapsed; not recorded", delivery.pk)
                continue
            done.append((delivery.pk, delivery.attempts))
            attempt, reason = _apply(delivery, result, now=now)
            attempts.append(attempt)
            changed.append(delivery)
            disable_reason = disable_reason or reason
        DeliveryAttempt.objects.bulk_create(attempts)
        # One UPDATE per distinct outcome (usually one: all succeeded on their first attempt);
        # bulk_update's CASE per row and field costs far more than the round trips it saves.
        outcomes: dict[tuple[Any, ...], list[int]] = {}
        for delivery in changed:
            values = tuple(getattr(delivery, name) for name in _RECORDED_FIELDS)
            outcomes.setdefault(values, []).append(delivery.pk)
        for values, pks in outcomes.items():
            Delivery.objects.filter(pk__in=pks).update(
                **dict(zip(_RECORDED_FIELDS, values, strict=True))
            )
        batch.lost.update(pk for pk in renew if pk not in held)
        renew = [pk for pk in renew if pk in held]
        if renew:
            lease_seconds = _lease_seconds()
            Delivery.objects.filter(pk__in=renew).update(
                next_attempt_at=now + timedelta(seconds=lease_seconds), updated_at=now
            )
            batch.lease_ends = clock + lease_seconds
        release = [pk for pk in release if pk in held]
        if release:
            Delivery.objects.filter(pk__in=release).update(
                lease=None, next_attempt_at=now, updated_at=now
            )
            jobs = list(Delivery.objects.filter(pk__in=release).values_list("pk", "attempts"))
            transaction.on_commit(lambda: enqueue_deliveries(jobs))
        if disable_reason:
            disable_webhook(webhook, reason=disable_reason)
        _taken.hold(done, clock + _lease_seconds())
        still = [(row.pk, row.attempts) for row in batch.deliveries if row.pk in renew]
        _taken.hold(still, batch.lease_ends)
    _taken.forget(pk for pk in posted + release if pk not in held or pk in release)
    return {attempt.delivery_id: attempt for attempt in attempts}


def _apply(
    delivery: Delivery, result: http.DeliveryResult, *, now: datetime
) -> tuple[DeliveryAttempt, str]:
    """Move a delivery on by one attempt's result (not saved); returns the attempt to insert
    and, when the result disables the webhook, why."""
    is_test = delivery.event.type == EventType.WEBHOOK_TEST
    number = delivery.attempts + 1
    schedule = settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE
    next_retry_at: datetime | None = None
    disable_reason = ""
    if result.ok:
        delivery.status = Status.SUCCEEDED
        delivery.delivered_at = now
    elif result.status_code == 410:
        delivery.status = Status.DEAD
        disable_reason = "The endpoint answered 410 Gone."
    elif is_test:
        delivery.status = Status.DEAD  # a test ping is one attempt, never retried
    elif number <= len(schedule):
        delivery.status = Status.FAILED
        delay = schedule[number - 1] * (
            1 + random.uniform(0, settings.SENDOOK_WEBHOOK_RETRY_JITTER)
        )
        next_retry_at = now + timedelta(seconds=delay)
    else:
        delivery.status = Status.DEAD
        # Only the natural end of the schedule disables the webhook; a manual retry of a dead
        # delivery that fails again just stays dead.
        if number == len(schedule) + 1:
            disable_reason = (
                f"Deliveries failed for the whole retry schedule ({number} attempts); "
                f"last error: {result.error}"
            )[:500]
    error = _storable(result.error)[:1000]
    delivery.attempts = number
    delivery.next_attempt_at = next_retry_at
    delivery.last_status_code = result.status_code
    delivery.last_error = error
    delivery.lease = None
    delivery.updated_at = now
    attempt = DeliveryAttempt(
        delivery=delivery,
        webhook=delivery.webhook,
        attempt=number,
        status_code=result.status_code,
        succeeded=result.ok,
        error=error,
        duration_ms=max(result.duration_ms, 0),
        response_excerpt=_storable(result.response_excerpt),
        next_retry_at=next_retry_at,
        created_at=now,
    )
    return attempt, disable_reason


def _storable(text: str) -> str:
    """A receiver's bytes may hold NUL, which PostgreSQL text cannot: the attempt must still be
    recorded, or the delivery would be re-sent forever without a trace."""
    return text.replace("\x00", "\ufffd")


def disable_webhook(webhook: Webhook, *, reason: str) -> Webhook:
    """Stop delivering to a webhook and tell the organization: a webhook.disabled event (in the
    feed, and delivered to its other webhooks that subscribe to it) and the reason on the row."""
    with transaction.atomic():
        now = timezone.now()
        changed = Webhook.objects.filter(pk=webhook.pk, enabled=True).update(
            enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        webhook.refresh_from_db()
        if changed:
            logger.warning(
                "webhook %s of %s disabled: %s", webhook.public_id, webhook.organization_id, reason
            )
            from webhooks.serializers import WebhookSerializer

            record_event(
                webhook.organization,
                event_type=EventType.WEBHOOK_DISABLED,
                payload=dict(WebhookSerializer(webhook).data),
            )
    return webhook


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


def retry_delivery(delivery: Delivery) -> Delivery:
    """Queue one more attempt of a failed or dead delivery, now."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status not in (Status.FAILED, Status.DEAD):
            raise DeliveryNotRetryable()
        if not Webhook.objects.filter(pk=locked.webhook_id, enabled=True).exists():
            raise WebhookDisabled()
        now = timezone.now()
        if locked.lease is not None and locked.next_attempt_at and locked.next_attempt_at > now:
            # A worker is making this (due) retry right now: that attempt is the one asked
            # for, and only it may record the delivery's next state.
            return Delivery.objects.select_related("event", "webhook").get(pk=locked.pk)
        locked.status = Status.PENDING
        locked.lease = None
        locked.next_attempt_at = now + timedelta(seconds=settings.SENDOOK_WEBHOOK_CLAIM_SECONDS)
        locked.save(update_fields=["status", "lease", "next_attempt_at", "updated_at"])
        job = [(locked.pk, locked.attempts)]
        transaction.on_commit(lambda: enqueue_deliveries(job))
    return Delivery.objects.select_related("event", "webhook").get(pk=locked.pk)
