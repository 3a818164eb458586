"""Queueing: handing deliveries to workers once their rows are committed, the periodic sweep
of what has come due, and a retry asked for by a person.

Tasks are found by name in Celery's registry (webhooks.tasks registers them), so these services
never import the tasks that call them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from webhooks.exceptions import DeliveryNotRetryable, WebhookDisabled
from webhooks.models import Delivery, Webhook

DELIVER_TASK = "webhooks.tasks.deliver_webhook"

Status = Delivery.Status


def enqueue_deliveries(deliveries: Iterable[tuple[int, int]]) -> None:
    """Hand (delivery pk, attempts so far) pairs to workers. Call after the rows are committed.

    With a broker each becomes a Celery task. In the embedded default (no broker, tasks run
    in-process) they run on a small background thread pool, so an API request that records an
    event never waits on a customer's endpoint.
    """
    task = current_app.tasks[DELIVER_TASK]
    for delivery_id, attempts in deliveries:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            run_in_background(task, delivery_id, attempts)
        else:
            task.delay(delivery_id, attempts)


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
