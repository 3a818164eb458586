"""Recording: storing a batch's attempts, moving each delivery on to its next state, and
disabling a webhook whose deliveries keep failing."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks import http
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.serializers import WebhookSerializer
from webhooks.services.delivery import claiming, queueing

logger = logging.getLogger(__name__)

Status = Delivery.Status


def disables(delivery: Delivery, result: http.DeliveryResult) -> bool:
    """Whether recording this result disables the webhook (see apply)."""
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


# SQLite answers "database (table) is locked" at once where PostgreSQL would wait for the lock,
# and the embedded default has no sweep to try again later: retry the (rolled back) transaction
# a few times before giving up, so a post that was made is not left unrecorded.
_LOCKED_RETRIES = 5


def record(
    batch: claiming.Batch,
    results: list[tuple[Delivery, http.DeliveryResult]],
    *,
    renew: Iterable[Delivery] = (),
    release: Iterable[Delivery] = (),
) -> dict[int, DeliveryAttempt]:
    """Record attempts in one transaction, for the deliveries this batch still holds; renew or
    give back the lease of the batch's others."""
    renew, release = list(renew), list(release)
    for attempt in range(_LOCKED_RETRIES):
        try:
            return _record(batch, results, renew=renew, release=release)
        except OperationalError as error:
            if "locked" not in str(error) or attempt == _LOCKED_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _record(
    batch: claiming.Batch,
    results: list[tuple[Delivery, http.DeliveryResult]],
    *,
    renew: list[Delivery],
    release: list[Delivery],
) -> dict[int, DeliveryAttempt]:
    renew, release = [row.pk for row in renew], [row.pk for row in release]
    posted = [delivery.pk for delivery, _ in results]
    if not (posted or renew or release):
        return {}
    webhook = batch.webhook
    with transaction.atomic():
        claiming.relax_commit()
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
            attempt, reason = apply(delivery, result, now=now)
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
            lease_seconds = claiming.lease_seconds()
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
            transaction.on_commit(lambda: queueing.enqueue_deliveries(jobs))
        if disable_reason:
            disable_webhook(webhook, reason=disable_reason)
        claiming.taken.hold(done, clock + claiming.lease_seconds())
        still = [(row.pk, row.attempts) for row in batch.deliveries if row.pk in renew]
        claiming.taken.hold(still, batch.lease_ends)
    claiming.taken.forget(pk for pk in posted + release if pk not in held or pk in release)
    return {attempt.delivery_id: attempt for attempt in attempts}


def apply(
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
            record_event(
                webhook.organization,
                event_type=EventType.WEBHOOK_DISABLED,
                payload=dict(WebhookSerializer(webhook).data),
            )
    return webhook
