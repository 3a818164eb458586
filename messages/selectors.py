"""Organization-scoped reads of threads, messages and attachments.

The inbox always comes first (resolved through inboxes.selectors.get_inbox by the caller), so a
message of another inbox or organization is indistinguishable from a missing one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet

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


# The message columns the API's message shape reads (messages.serializers.message_row_to_dict).
MESSAGE_ROW_FIELDS = (
    "public_id", "from_name", "reply_to", "from_email", "to", "cc", "bcc", "subject", "text",
    "html", "extracted_text", "labels", "message_id", "in_reply_to", "references",
    "external_message_id", "status", "status_reason", "direction", "sent_at", "created_at",
    "updated_at",
)


def list_messages(
    inbox: Inbox,
    *,
    query: str = "",
    labels: list[str] | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    bodies: bool = True,
) -> QuerySet[Message, dict[str, Any]]:
    """Rows (dicts) rather than models: a list page renders up to 200 messages, and building a
    model per message plus one per relation cost several times the query itself. The thread
    and from/to inboxes come as public ids; complete_message_rows() adds the rest once the
    page is cut."""
    rows = Message.objects.filter(inbox_id=inbox.pk, organization_id=inbox.organization_id)
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
    return rows.values(
        "pk",
        # A summary list (bodies=False) carries a preview only: extracted_text is not read.
        *(name for name in MESSAGE_ROW_FIELDS if bodies or name != "extracted_text"),
        thread_public_id=F("thread__public_id"),
        from_inbox_public_id=F("from_inbox__public_id"),
        to_inbox_public_id=F("to_inbox__public_id"),
    )


def complete_message_rows(inbox: Inbox, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of list_messages() rows with their organization's and inbox's public ids (the
    same for every row, so not joined in SQL) and their attachments (one query)."""
    attachments: dict[int, list[Attachment]] = {row["pk"]: [] for row in rows}
    if rows:
        for attachment in Attachment.objects.filter(message_id__in=attachments).order_by("id"):
            attachments[attachment.message_id].append(attachment)
    for row in rows:
        row["organization_public_id"] = inbox.organization.public_id
        row["inbox_public_id"] = inbox.public_id
        row["attachments"] = attachments[row["pk"]]
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


def suppressed_addresses(organization: Organization, addresses: list[str]) -> set[str]:
    wanted = {address.lower() for address in addresses}
    return set(
        Suppression.objects.filter(organization=organization, email__in=wanted).values_list(
            "email", flat=True
        )
    )
