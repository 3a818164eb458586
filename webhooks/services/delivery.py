"""Delivering one event to one webhook, recording every attempt, and scheduling the next one.

The retry schedule lives in the database: a failed delivery gets `next_attempt_at`, and the
periodic sweep queues whatever has come due. A task may run twice (acks_late, the sweep as a
backstop), so an attempt first locks the delivery row and checks that it is still the attempt
the task was queued for; a second run finds the work done and does nothing.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from webhooks import http, signing
from webhooks.exceptions import DeliveryNotRetryable, WebhookDisabled
from webhooks.models import Delivery, DeliveryAttempt, Event, EventType, Webhook
from webhooks.services.events import build_envelope, record_event
from webhooks.ssrf import Resolver

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
    queue it again while it waits in the broker, yet finds it if that task is lost. Rows being
    delivered right now are locked and skipped.
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
                next_attempt_at=claim_until, updated_at=now
            )
            transaction.on_commit(lambda: enqueue_deliveries(due))
    return len(due)


# --- attempts -------------------------------------------------------------------------------


def deliver(delivery_id: int, *, expected_attempts: int | None = None) -> DeliveryAttempt | None:
    """Make the next attempt of a delivery; None when there is nothing (left) to do.

    `expected_attempts` is how many attempts the delivery had when this run was queued: if it
    changed, another run already made this attempt. On PostgreSQL the row stays locked for the
    attempt, so a duplicate run waits and then finds the work done.
    """
    rows = Delivery.objects.select_related("webhook", "event__organization")
    if connection.features.has_select_for_update:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # An attempt record lost in a database crash only means the event may be sent
                # again under the same webhook-id, which receivers deduplicate; so an attempt
                # need not wait for a disk flush of the WAL at commit.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            delivery = rows.select_for_update(of=("self",)).filter(pk=delivery_id).first()
            return _attempt(delivery, expected_attempts)
    # SQLite (the one-process embedded default) has no row locks, and holding its database
    # lock across an HTTP request would stall every other writer.
    return _attempt(rows.filter(pk=delivery_id).first(), expected_attempts)


def _attempt(delivery: Delivery | None, expected_attempts: int | None) -> DeliveryAttempt | None:
    if delivery is None or delivery.status in (Status.SUCCEEDED, Status.DEAD):
        return None
    if expected_attempts is not None and delivery.attempts != expected_attempts:
        return None
    webhook, event = delivery.webhook, delivery.event
    is_test = event.type == EventType.WEBHOOK_TEST
    if not webhook.enabled and not is_test:
        delivery.status = Status.DEAD
        delivery.next_attempt_at = None
        delivery.last_error = "webhook disabled"
        delivery.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
        return None

    body = json.dumps(build_envelope(event), separators=(",", ":"), ensure_ascii=False).encode()
    # webhook-id is the event id on every attempt, so receivers can deduplicate retries.
    headers = signing.headers(
        webhook.secret, msg_id=event.public_id, timestamp=int(time.time()), body=body
    )
    result = http.post(
        webhook.url,
        body=body,
        headers=headers,
        allow_private=settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE,
        connect_timeout=settings.SENDOOK_WEBHOOK_CONNECT_TIMEOUT,
        total_timeout=settings.SENDOOK_WEBHOOK_TIMEOUT,
        max_response_bytes=settings.SENDOOK_WEBHOOK_MAX_RESPONSE_BYTES,
        resolver=resolver,
    )
    return _record_result(delivery, webhook, result, is_test=is_test)


def _record_result(
    delivery: Delivery, webhook: Webhook, result: http.DeliveryResult, *, is_test: bool
) -> DeliveryAttempt:
    now = timezone.now()
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
    delivery.attempts = number
    delivery.next_attempt_at = next_retry_at
    delivery.last_status_code = result.status_code
    error = _storable(result.error)[:1000]
    delivery.last_error = error
    # Inside deliver()'s transaction on PostgreSQL (no savepoint needed), its own on SQLite.
    with transaction.atomic(savepoint=False):
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            webhook=webhook,
            attempt=number,
            status_code=result.status_code,
            succeeded=result.ok,
            error=error,
            duration_ms=max(result.duration_ms, 0),
            response_excerpt=_storable(result.response_excerpt),
            next_retry_at=next_retry_at,
        )
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "last_status_code",
                "last_error",
                "delivered_at",
                "updated_at",
            ]
        )
        if disable_reason:
            disable_webhook(webhook, reason=disable_reason)
    return attempt


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
        locked.status = Status.PENDING
        locked.next_attempt_at = timezone.now() + timedelta(
            seconds=settings.SENDOOK_WEBHOOK_CLAIM_SECONDS
        )
        locked.save(update_fields=["status", "next_attempt_at", "updated_at"])
        job = [(locked.pk, locked.attempts)]
        transaction.on_commit(lambda: enqueue_deliveries(job))
    return Delivery.objects.select_related("event", "webhook").get(pk=locked.pk)
