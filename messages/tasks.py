"""Celery entry points of the mail app."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from messages.models import InboundEmail
from messages.services.receiving import (
    mark_inbound_failed,
    process_inbound_email,
    requeue_stale_inbound_emails,
)

logger = logging.getLogger(__name__)

# Worth another try later: storage hiccups and lost database connections.
_TRANSIENT = (OSError, OperationalError, InterfaceError)


@shared_task(bind=True, max_retries=5)
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


@shared_task
def requeue_stale_inbound() -> int:
    """Periodic: pick up raw records whose parse task never ran."""
    minutes = settings.SENDOOK_INBOUND_REQUEUE_MINUTES
    return requeue_stale_inbound_emails(older_than=timedelta(minutes=minutes))
