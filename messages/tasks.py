"""Celery entry points of the mail app: take ids, call one service, own the retry policy."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from messages.exceptions import TransientSendError, UnrecordedSend
from messages.models import InboundEmail
from messages.services import approvals, delivery, triage
from messages.services.enqueue import PROCESS_INBOUND_EMAIL, SEND_MESSAGE
from messages.services.receive import (
    mark_inbound_failed,
    process_inbound_email,
    requeue_stale_inbound_emails,
)

logger = logging.getLogger(__name__)


def retry_delay(retries: int) -> int:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s … capped at 10 minutes."""
    base = min(5 * 2**retries, 600)
    return base + random.randint(0, base // 4 + 1)


# A lost database connection (a restart, a failover) rolls the attempt back, so nothing was
# recorded: try again within seconds rather than leave the message to the sweep, which picks it
# up only after SENDOOK_REQUEUE_AFTER_SECONDS. After these retries (about 2.5 minutes) the sweep
# still has it: the message is left queued, never failed, since the outage was not the message's.
DATABASE_RETRIES = 8


def database_retry_delay(retries: int) -> int:
    """2 s, 4 s, 8 s, 16 s, then 30 s."""
    return min(2 * 2**retries, 30)


@shared_task(name=SEND_MESSAGE, bind=True, acks_late=True, max_retries=None)
def send_message(
    self, message_pk: int, database_retries: int = 0, sent_external_id: str | None = None
) -> None:
    try:
        delivery.deliver_message(message_pk, sent_external_id=sent_external_id)
    except UnrecordedSend as exc:
        # The provider has it: retry only the recording, carrying the provider's answer.
        if database_retries >= DATABASE_RETRIES:
            logger.error("message %s: %s; left claimed (failed after the lease)", message_pk, exc)
            return
        delay = database_retry_delay(database_retries)
        logger.warning("message %s: %s; recording again in %ss", message_pk, exc, delay)
        raise self.retry(
            exc=exc,
            countdown=delay,
            kwargs={"database_retries": database_retries + 1, "sent_external_id": exc.external_id},
        ) from None
    except TransientSendError as exc:
        # Retries spent waiting for the database are not the provider's failures.
        provider_retries = self.request.retries - database_retries
        attempts = provider_retries + 1
        if attempts > settings.SENDOOK_SEND_MAX_RETRIES:
            delivery.fail_message(message_pk, reason=f"Gave up after {attempts} attempts: {exc}")
            return
        delay = retry_delay(provider_retries)
        logger.warning(
            "message %s: transient send failure (%s); retry in %ss", message_pk, exc, delay
        )
        delivery.defer_message(message_pk, seconds=delay, reason=str(exc))
        raise self.retry(exc=exc, countdown=delay) from None
    except (OperationalError, InterfaceError) as exc:
        if database_retries >= DATABASE_RETRIES:
            logger.warning(
                "message %s: database still unavailable (%s); left to the sweep", message_pk, exc
            )
            return
        delay = database_retry_delay(database_retries)
        logger.warning(
            "message %s: database unavailable (%s); retry in %ss", message_pk, exc, delay
        )
        raise self.retry(
            exc=exc, countdown=delay, kwargs={"database_retries": database_retries + 1}
        ) from None


@shared_task(name="messages.tasks.requeue_stuck_messages", acks_late=True)
def requeue_stuck_messages() -> int:
    """Re-enqueues messages left queued (a lost enqueue, a worker killed mid-task)."""
    ids = delivery.stuck_messages()
    for message_pk in ids:
        send_message.delay(message_pk)
    if ids:
        logger.info("re-enqueued %d queued messages", len(ids))
    return len(ids)


# Worth another try later: storage hiccups and lost database connections.
_TRANSIENT = (OSError, OperationalError, InterfaceError)


@shared_task(name=PROCESS_INBOUND_EMAIL, bind=True, max_retries=5)
def process_inbound_email_task(self, inbound_id: int) -> int:  # type: ignore[no-untyped-def]
    """Parse and deliver one stored raw message. Never loses it: unexpected errors mark the
    record failed (reprocessable from the admin) instead of crashing the worker."""
    record = InboundEmail.objects.filter(pk=inbound_id).first()
    if record is None:
        return 0
    try:
        return len(process_inbound_email(record))
    except _TRANSIENT as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
        logger.exception("inbound: giving up on %s", record.public_id)
        mark_inbound_failed(record, exc)
    except Exception as exc:  # process edge: record it, never crash the worker
        logger.exception("inbound: processing %s failed", record.public_id)
        mark_inbound_failed(record, exc)
    return 0


@shared_task(name="messages.tasks.requeue_stale_inbound")
def requeue_stale_inbound() -> int:
    """Periodic: pick up raw records whose parse task never ran."""
    minutes = settings.SENDOOK_INBOUND_REQUEUE_MINUTES
    return requeue_stale_inbound_emails(older_than=timedelta(minutes=minutes))


@shared_task(name="messages.tasks.release_scheduled_messages", acks_late=True)
def release_scheduled_messages() -> int:
    """Periodic: hand scheduled messages whose sendAt has passed to the workers."""
    count = approvals.release_scheduled_messages(limit=settings.SENDOOK_SCHEDULED_SWEEP_BATCH)
    if count:
        logger.info("released %d scheduled messages", count)
    return count


@shared_task(name="messages.tasks.wake_snoozed_threads", acks_late=True)
def wake_snoozed_threads() -> int:
    """Periodic: snoozed threads whose snoozedUntil has passed are open again."""
    count = triage.wake_snoozed_threads(limit=settings.SENDOOK_SNOOZE_SWEEP_BATCH)
    if count:
        logger.info("woke %d snoozed threads", count)
    return count
