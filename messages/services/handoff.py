"""The moment an accepted send becomes the worker's: shared by the send path (direct sends),
the approval queue (approved sends) and the scheduled-send sweep (due sends), so each of them
remembers the recipients and enqueues the same way."""

from __future__ import annotations

import logging

from django.db import transaction

from messages.models import Message
from messages.payloads import message_payload
from messages.services.correspondents import remember_recipients
from messages.services.enqueue import SEND_MESSAGE, enqueue
from sendook.events.models import EventType
from sendook.events.services import record_event

logger = logging.getLogger(__name__)


def _enqueue(message_pk: int) -> None:
    try:
        enqueue(SEND_MESSAGE, message_pk)
    except Exception:
        # The broker is down: the message is committed as queued, and the sweep
        # (messages.tasks.requeue_stuck_messages) enqueues it once the broker is back.
        logger.exception("could not enqueue message %s; the sweep will retry", message_pk)


def hand_to_worker(message: Message, *, recipients_known: bool = False) -> None:
    """Inside the transaction that made `message` queued: the worker gets it on commit."""
    if not recipients_known:
        remember_recipients(message)
    message_pk = message.pk
    transaction.on_commit(lambda: _enqueue(message_pk))


def record_message_event(message: Message, event_type: EventType, *, notify: bool = True) -> None:
    """The event about a message, with the message's payload; `notify=False` when the caller
    already knows no webhook listens."""
    record_event(
        message.organization,
        event_type=event_type,
        payload=message_payload(message),
        inbox_id=message.inbox.public_id,
        message_id=message.public_id,
        notify=notify,
    )


ACCEPTED_EVENTS: dict[str, EventType] = {
    Message.Status.PENDING_APPROVAL: EventType.MESSAGE_PENDING_APPROVAL,
    Message.Status.SCHEDULED: EventType.MESSAGE_SCHEDULED,
}


def start(message: Message, *, recipients_known: bool = False) -> None:
    """A just-accepted send: queued ones go to the worker, held and scheduled ones are told."""
    if message.status == Message.Status.QUEUED:
        hand_to_worker(message, recipients_known=recipients_known)
    else:
        record_message_event(message, ACCEPTED_EVENTS[message.status])
