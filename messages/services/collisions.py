"""Collision safety of a send on an existing thread (API.md, Shared threads): a reply that
expected an older last message is refused with the ids that arrived meanwhile, and an API key
may not send on a thread a person has taken. Called with the thread locked (services/send.py,
services/drafts.py), so of two sends expecting the same message exactly one goes through."""

from __future__ import annotations

from typing import Any

from inboxes.models import Membership
from messages.exceptions import ThreadAssigned, ThreadChanged
from messages.models import Message, Thread
from messages.payloads import assignee_ref
from sendook.exceptions import ValidationFailed

# Messages that never go out (an undone or declined send) or are not written yet (drafts) do
# not make a reply cross anything.
NOT_NEWER = (Message.Status.DRAFT, Message.Status.CANCELLED, Message.Status.DECLINED)


def newer_message_ids(thread: Thread, expected_last_message_id: str) -> list[str]:
    """The ids of the thread's messages after `expected_last_message_id`, oldest first
    (received, sent, queued, scheduled and held ones; see NOT_NEWER). An id that is not a
    message of this thread → 400 naming expectedLastMessageId."""
    expected = (
        Message.objects.filter(thread=thread, public_id=expected_last_message_id)
        .values_list("pk", flat=True)
        .first()
    )
    if expected is None:
        raise ValidationFailed.for_field(
            "expectedLastMessageId",
            f"{expected_last_message_id} is not a message of this thread.",
        )
    return list(
        Message.objects.filter(thread=thread, pk__gt=expected)
        .exclude(status__in=NOT_NEWER)
        .order_by("id")
        .values_list("public_id", flat=True)
    )


def check_collision(
    thread: Thread, *, sender: Any, expected_last_message_id: str | None = None
) -> None:
    """Collision safety of a send on an existing thread, called with the thread locked: an API
    key may not send on a thread a person is assigned to (409 thread_assigned: the person has
    taken over; a staff user may always), and a send expecting the thread's last message to be
    `expected_last_message_id` is refused if newer ones arrived (409 thread_changed).
    `sender` is the send's services.send.Sender (typed loosely: send imports this module)."""
    if sender.api_key is not None and thread.assignee_member_id is not None:
        member = Membership.objects.select_related("user").get(pk=thread.assignee_member_id)
        raise ThreadAssigned(assignee_ref(member) or {})
    if expected_last_message_id is not None:
        newer = newer_message_ids(thread, expected_last_message_id)
        if newer:
            raise ThreadChanged(newer)
