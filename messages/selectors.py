"""Organization-scoped reads of threads, messages and attachments.

The inbox always comes first (resolved through inboxes.selectors.get_inbox by the caller), so a
message of another inbox or organization is indistinguishable from a missing one.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from inboxes.models import Inbox, Organization
from messages.exceptions import AttachmentNotFound, MessageNotFound, ThreadNotFound
from messages.models import Attachment, Message, Suppression, Thread
from messages.search import filter_messages


def _messages_of(inbox: Inbox) -> QuerySet[Message]:
    return (
        Message.objects.filter(inbox=inbox, organization_id=inbox.organization_id)
        .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
        # The full-text vector (messages/search.py) is for the database only: never load it.
        .defer("search_vector")
    )


def _has_label(label: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(labels__contains=[label])
    # SQLite has no JSON containment: match the JSON-encoded string instead.
    return Q(labels__icontains=json.dumps(label))


def list_messages(
    inbox: Inbox,
    *,
    query: str = "",
    labels: list[str] | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
) -> QuerySet[Message]:
    rows = _messages_of(inbox).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if query:
        # The search language shared with the staff UI (messages/search.py): plain words keep
        # their substring meaning; operators, phrases, -term and OR narrow further. The API
        # paginates by its own keyset, so no ranking here.
        rows = filter_messages(rows, query, ranked=False)
    for label in labels or []:
        rows = rows.filter(_has_label(label))
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    if after is not None:
        rows = rows.filter(created_at__gt=after)
    return rows


def get_message(inbox: Inbox, message_id: str) -> Message:
    try:
        return _messages_of(inbox).prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
        ).get(public_id=message_id)
    except Message.DoesNotExist:
        raise MessageNotFound() from None


def get_attachment(message: Message, attachment_id: str) -> Attachment:
    try:
        return Attachment.objects.get(message=message, public_id=attachment_id)
    except Attachment.DoesNotExist:
        raise AttachmentNotFound() from None


def list_threads(inbox: Inbox) -> QuerySet[Thread]:
    return (
        Thread.objects.filter(inbox=inbox, organization_id=inbox.organization_id)
        .select_related("organization", "inbox")
        .prefetch_related(
            Prefetch("messages", queryset=Message.objects.order_by("id").only("id", "public_id", "thread_id"))
        )
    )


def get_thread(inbox: Inbox, thread_id: str) -> Thread:
    try:
        return (
            Thread.objects.filter(inbox=inbox, organization_id=inbox.organization_id)
            .select_related("organization", "inbox")
            .prefetch_related(
                Prefetch(
                    "messages",
                    queryset=Message.objects.order_by("id")
                    .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
                    .prefetch_related("attachments"),
                )
            )
            .get(public_id=thread_id)
        )
    except Thread.DoesNotExist:
        raise ThreadNotFound() from None


def find_thread_message(inbox: Inbox, rfc_message_ids: list[str]) -> Message | None:
    """The newest message of this inbox carrying one of these RFC Message-IDs (for threading)."""
    ids = [value for value in rfc_message_ids if value]
    if not ids:
        return None
    return (
        Message.objects.filter(
            organization_id=inbox.organization_id, inbox=inbox, message_id__in=ids
        )
        .select_related("thread")
        .order_by("-id")
        .first()
    )


def suppressed_addresses(organization: Organization, addresses: list[str]) -> set[str]:
    wanted = {address.lower() for address in addresses}
    return set(
        Suppression.objects.filter(organization=organization, email__in=wanted).values_list(
            "email", flat=True
        )
    )


def list_suppressions(organization: Organization) -> QuerySet[Suppression]:
    return Suppression.objects.filter(organization=organization)
