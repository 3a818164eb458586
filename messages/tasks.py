"""Celery entry points of the mail app: take ids, call one service, own the retry policy."""

import logging
import random

from celery import shared_task
from django.conf import settings

from messages.exceptions import TransientSendError
from messages.services import sending

logger = logging.getLogger(__name__)


def retry_delay(retries: int) -> int:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s … capped at 10 minutes."""
    base = min(5 * 2**retries, 600)
    return base + random.randint(0, base // 4 + 1)


@shared_task(bind=True, acks_late=True, max_retries=None)
def send_message(self, message_pk: int) -> None:
    try:
        sending.deliver_message(message_pk)
    except TransientSendError as exc:
        attempts = self.request.retries + 1
        if attempts > settings.SENDOOK_SEND_MAX_RETRIES:
            sending.fail_message(message_pk, reason=f"Gave up after {attempts} attempts: {exc}")
            return
        delay = retry_delay(self.request.retries)
        logger.warning("message %s: transient send failure (%s); retry in %ss", message_pk, exc, delay)
        sending.defer_message(message_pk, seconds=delay, reason=str(exc))
        raise self.retry(exc=exc, countdown=delay) from None


@shared_task(acks_late=True)
def requeue_stuck_messages() -> int:
    """Re-enqueues messages left queued (a lost enqueue, a worker killed mid-task)."""
    ids = sending.stuck_messages()
    for message_pk in ids:
        send_message.delay(message_pk)
    if ids:
        logger.info("re-enqueued %d queued messages", len(ids))
    return len(ids)
