"""Reads of drafts (messages/services/drafts.py; the message_drafts partial index)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from inboxes.models import Inbox, Organization
from messages.exceptions import (
    DraftNotFound,
)
from messages.models import Attachment, Message
from messages.selectors.messages import messages_of


def _drafts(organization: Organization) -> QuerySet[Message]:
    return (
        Message.objects.filter(organization=organization, status=Message.Status.DRAFT)
        .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .defer("search_vector")
    )


def list_drafts(organization: Organization, *, inbox: Inbox | None = None) -> QuerySet[Message]:
    rows = _drafts(organization)
    return rows.filter(inbox=inbox) if inbox is not None else rows


def count_drafts(organization: Organization) -> int:
    return Message.objects.filter(organization=organization, status=Message.Status.DRAFT).count()


def get_draft(
    organization: Organization, message_id: str, *, inbox: Inbox | None = None
) -> Message:
    try:
        return list_drafts(organization, inbox=inbox).get(public_id=message_id)
    except Message.DoesNotExist:
        raise DraftNotFound() from None


def get_draft_for_change(inbox: Inbox, message_id: str) -> Message:
    """A draft to edit, delete or send: any of the inbox's outbound messages, so one already
    sent (or held, scheduled...) answers 409 naming its status rather than 404."""
    try:
        return messages_of(inbox).get(public_id=message_id, direction=Message.Direction.OUTBOUND)
    except Message.DoesNotExist:
        raise DraftNotFound() from None
