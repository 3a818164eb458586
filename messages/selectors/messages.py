"""Reads of messages, held sends, attachments and suppressed addresses: for one inbox (the API,
which resolved the inbox of its URL) or across an organization (the staff UI)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet

from inboxes.models import Inbox, Organization
from messages.exceptions import (
    AttachmentNotFound,
    MessageNotFound,
)
from messages.models import Attachment, Message, Suppression
from messages.payloads import MESSAGE_ROW_FIELDS
from messages.search.sql import filter_messages


def messages_of(inbox: Inbox) -> QuerySet[Message]:
    return (
        Message.objects.filter(inbox=inbox, organization_id=inbox.organization_id)
        .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
        # The full-text vector (messages/search/) is for the database only: never load it.
        .defer("search_vector")
    )


def has_label(label: str) -> Q:
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
    bodies: bool = True,
    include_blocked: bool = False,
) -> QuerySet[Message, dict[str, Any]]:
    """Rows (dicts) rather than models: a list page renders up to 200 messages, and building a
    model per message plus one per relation cost several times the query itself. The thread
    and from/to inboxes come as public ids; complete_message_rows() adds the rest once the
    page is cut."""
    rows = Message.objects.filter(inbox_id=inbox.pk, organization_id=inbox.organization_id).exclude(
        status=Message.Status.DRAFT
    )
    if not include_blocked:  # held back by a receive block list (services/lists.py)
        rows = rows.exclude(status=Message.Status.BLOCKED)
    if query:
        # The search language shared with the staff UI (messages/search/): plain words keep
        # their substring meaning; operators, phrases, -term and OR narrow further. The API
        # paginates by its own keyset, so no ranking here.
        rows = filter_messages(rows, query, ranked=False)
    for label in labels or []:
        rows = rows.filter(has_label(label))
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


def search_messages(
    organization: Organization, query: str, *, inbox: Inbox | None = None
) -> QuerySet[Message]:
    """The organization's messages matching `query` (in `inbox` if given): best matches first
    when there is free text on PostgreSQL, newest first otherwise."""
    rows = Message.objects.filter(organization=organization).exclude(status=Message.Status.DRAFT)
    rows = rows.exclude(status=Message.Status.BLOCKED)  # found in the Blocked view instead
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    return filter_messages(rows, query)


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
    """A message of the inbox; drafts are not messages yet (see get_draft)."""
    try:
        return (
            messages_of(inbox)
            .exclude(status=Message.Status.DRAFT)
            .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
            .get(public_id=message_id)
        )
    except Message.DoesNotExist:
        raise MessageNotFound() from None


def list_pending_approvals(
    organization: Organization, *, inbox_ids: frozenset[str] | None = None
) -> QuerySet[Message]:
    """The approval queue (the message_pending_approval partial index); for a key limited to
    some inboxes, only theirs."""
    rows = Message.objects.filter(organization=organization, status=Message.Status.PENDING_APPROVAL)
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=inbox_ids)
    return rows.select_related(
        "organization", "inbox", "thread", "from_inbox", "to_inbox"
    ).prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))


def get_pending_approval(
    organization: Organization, message_id: str, *, inbox_ids: frozenset[str] | None = None
) -> Message:
    """One message of the approval queue; any other message answers like a missing one."""
    try:
        return list_pending_approvals(organization, inbox_ids=inbox_ids).get(public_id=message_id)
    except Message.DoesNotExist:
        raise MessageNotFound() from None


def get_outbound_message(organization: Organization, message_id: str) -> Message:
    """One of the organization's sent (or still waiting) messages, for the staff UI's undo."""
    try:
        return Message.objects.select_related("organization", "inbox", "thread").get(
            organization=organization,
            direction=Message.Direction.OUTBOUND,
            public_id=message_id,
        )
    except Message.DoesNotExist:
        raise MessageNotFound() from None


def get_attachment(message: Message, attachment_id: str) -> Attachment:
    try:
        return Attachment.objects.get(message=message, public_id=attachment_id)
    except Attachment.DoesNotExist:
        raise AttachmentNotFound() from None


def get_attachment_for_member(user_id: int, attachment_id: str) -> Attachment:
    """An attachment of any organization the user belongs to: signed links (inline images in
    a sandboxed frame come without the session, so without its chosen organization)."""
    attachment = (
        Attachment.objects.filter(
            public_id=attachment_id, message__organization__memberships__user_id=user_id
        )
        .select_related("message")
        .first()
    )
    if attachment is None:
        raise AttachmentNotFound()
    return attachment


def suppressed_addresses(organization: Organization, addresses: list[str]) -> set[str]:
    wanted = {address.lower() for address in addresses}
    return set(
        Suppression.objects.filter(organization=organization, email__in=wanted).values_list(
            "email", flat=True
        )
    )
