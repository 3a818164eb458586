"""Celery entry points for webhook delivery. Retries are not Celery retries: the schedule lives
in Delivery.next_attempt_at and the sweep queues what has come due."""

import logging

from celery import shared_task

from webhooks.services import delivery
from webhooks.services.delivery import queueing

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int, attempts: int) -> None:
    """Make attempt number attempts+1 of a delivery, unless another run already made it."""
    try:
        delivery.deliver(delivery_id, expected_attempts=attempts)
    except Exception:  # a task is a process edge; the sweep picks the delivery up again
        logger.exception("webhook delivery %s failed", delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_webhook_deliveries() -> int:
    return queueing.sweep_due_deliveries()
