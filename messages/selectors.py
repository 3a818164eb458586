"""Organization-scoped reads of threads, messages and attachments, for the API and the staff UI.

The API resolves the inbox of its URL first (inboxes.selectors.get_inbox); the staff UI reads
across an organization's inboxes. Either way a row of another inbox or organization is
indistinguishable from a missing one.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet

from inboxes.models import ApiKey, Inbox, Membership, Organization
from inboxes.selectors import list_inboxes
from messages.exceptions import (
    AttachmentNotFound,
    DraftNotFound,
    InvalidAssignee,
    MessageNotFound,
    ThreadNotFound,
)
from messages.models import Attachment, Message, Suppression, Thread, ThreadStatus
from messages.payloads import MESSAGE_ROW_FIELDS
from messages.search.sql import filter_messages

THREADS_PER_PAGE = 50
# list_threads(assignee=…) not given: every thread, assigned or not.
UNFILTERED: Any = object()


def _messages_of(inbox: Inbox) -> QuerySet[Message]:
    return (
        Message.objects.filter(inbox=inbox, organization_id=inbox.organization_id)
        .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
        # The full-text vector (messages/search/) is for the database only: never load it.
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
            _messages_of(inbox)
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


def _threads_of(organization: Organization, inbox: Inbox | None) -> QuerySet[Thread]:
    rows = Thread.objects.filter(organization=organization)
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    return rows.select_related("organization", "inbox", "assignee_member__user", "assignee_key")


# The views of the staff UI's sidebar and what each lists (thread_counts counts the same):
# Mine and Unassigned are the work still to do, open or pending (closed and snoozed threads
# come back to them when reopened).
ACTIVE_STATUSES = (ThreadStatus.OPEN, ThreadStatus.PENDING)
THREAD_VIEWS = ("mine", "unassigned", "open", "pending", "snoozed", "closed")


def view_filters(view: str, *, member: Membership | None) -> dict[str, Any]:
    """list_threads() keyword arguments of a sidebar view (THREAD_VIEWS)."""
    if view == "mine":
        return {"status": list(ACTIVE_STATUSES), "assignee": member}
    if view == "unassigned":
        return {"status": list(ACTIVE_STATUSES), "assignee": "none"}
    if view in ThreadStatus.values:
        return {"status": view}
    raise ValueError(f"unknown thread view {view!r}")


def _assignee_filter(assignee: Any) -> Q:
    if assignee == "none":
        return Q(assignee_member__isnull=True, assignee_key__isnull=True)
    if isinstance(assignee, Membership):
        return Q(assignee_member_id=assignee.pk)
    if isinstance(assignee, ApiKey):
        return Q(assignee_key_id=assignee.pk)
    if assignee is None:
        # A view of "my" threads for someone who is no member: nothing (never every thread).
        return Q(pk__in=[])
    raise TypeError(f"assignee must be 'none', a Membership or an ApiKey, not {assignee!r}")


def get_assignee(organization: Organization, public_id: str) -> Membership | ApiKey:
    """A member (`user_…`) or API key (`key_…`, revoked ones too: a thread may still be
    assigned to one) of the organization, for `?assignee=<id>`; anything else → 400."""
    found: Membership | ApiKey | None = None
    if public_id.startswith("user_"):
        found = Membership.objects.filter(organization=organization, public_id=public_id).first()
    elif public_id.startswith("key_"):
        found = ApiKey.objects.filter(organization=organization, public_id=public_id).first()
    if found is None:
        raise InvalidAssignee(
            f"{public_id} is not a member or an API key of this organization; "
            "use me, none, a member id (user_…) or a key id (key_…)."
        )
    return found


def list_threads(
    organization: Organization,
    *,
    inbox: Inbox | None = None,
    with_message_ids: bool = False,
    status: str | list[str] | tuple[str, ...] | None = None,
    assignee: Any = UNFILTERED,
    label: str | None = None,
    inbox_ids: Collection[str] | None = None,
    include_blocked: bool = False,
) -> QuerySet[Thread]:
    """Newest activity first (exactly the thread_*_activity indexes' order, so a page is an
    index range scan). `with_message_ids` loads each thread's message ids (the API's thread
    object lists them), in one more query for the whole page.

    Filters: `status` (one or several; the thread_*_status_activity indexes), `assignee`
    (`"none"`, a Membership or an ApiKey; the thread_member/key_activity indexes), `label`
    (threads carrying it), `inbox_ids` (across inboxes, only these: a limited key's)."""
    rows = (
        _threads_of(organization, inbox)
        # A new draft's own thread is not a conversation until the draft is sent.
        .exclude(message_count=0, messages__status=Message.Status.DRAFT)
        .order_by("-last_message_at", "-id")
    )
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=list(inbox_ids))
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        rows = (
            rows.filter(status=statuses[0])
            if len(statuses) == 1
            else rows.filter(status__in=statuses)
        )
    if assignee is not UNFILTERED:
        rows = rows.filter(_assignee_filter(assignee))
    if label:
        rows = rows.filter(_has_label(label))
    if not include_blocked:
        # A thread a blocked message started (services/lists.py) shows once it is released.
        rows = rows.exclude(message_count=0, messages__status=Message.Status.BLOCKED)
    if with_message_ids:
        ids = (
            Message.objects.exclude(status=Message.Status.DRAFT)
            .order_by("id")
            .only("id", "public_id", "thread_id")
        )
        if not include_blocked:
            ids = ids.exclude(status=Message.Status.BLOCKED)
        rows = rows.prefetch_related(Prefetch("messages", queryset=ids))
    return rows


def message_ids_of(threads: list[Thread]) -> dict[int, list[str]]:
    """Each thread's message ids (drafts aside), oldest first, in one query: the `messages` of
    Thread objects rendered outside a list page (the bulk action's answer)."""
    ids: dict[int, list[str]] = {thread.pk: [] for thread in threads}
    rows = (
        Message.objects.filter(thread_id__in=list(ids))
        .exclude(status=Message.Status.DRAFT)
        .order_by("id")
        .values_list("thread_id", "public_id")
    )
    for thread_pk, public_id in rows:
        ids[thread_pk].append(public_id)
    return ids


def thread_counts(
    organization: Organization,
    *,
    member: Membership | None,
    inbox: Inbox | None = None,
    inbox_ids: Collection[str] | None = None,
) -> dict[str, int]:
    """How many threads each sidebar view (THREAD_VIEWS) lists, in one query: conditional
    counts over the organization's (or the inbox's) threads. Threads holding only a draft
    (message_count 0) are no conversation yet and not counted."""
    rows = Thread.objects.filter(organization=organization).exclude(message_count=0)
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    if inbox_ids is not None:
        rows = rows.filter(inbox__public_id__in=list(inbox_ids))
    active = Q(status__in=ACTIVE_STATUSES)
    counts = {
        "mine": Count("pk", filter=active & _assignee_filter(member)),
        "unassigned": Count("pk", filter=active & _assignee_filter("none")),
        **{status: Count("pk", filter=Q(status=status)) for status in ThreadStatus.values},
    }
    result = rows.aggregate(**counts)
    return {view: result[view] or 0 for view in THREAD_VIEWS}


def get_thread(
    organization: Organization,
    thread_id: str,
    *,
    inbox: Inbox | None = None,
    with_messages: bool = False,
    include_blocked: bool = False,
) -> Thread:
    """`with_messages` loads its messages as the API renders them (oldest first by id, with
    their relations and attachments); the staff UI reads them through thread_messages()."""
    rows = _threads_of(organization, inbox)
    if with_messages:
        messages = (
            Message.objects.exclude(status=Message.Status.DRAFT)
            .order_by("id")
            .select_related("organization", "inbox", "thread", "from_inbox", "to_inbox")
            .prefetch_related("attachments")
        )
        if not include_blocked:
            messages = messages.exclude(status=Message.Status.BLOCKED)
        rows = rows.prefetch_related(Prefetch("messages", queryset=messages))
    try:
        return rows.get(public_id=thread_id)
    except Thread.DoesNotExist:
        raise ThreadNotFound() from None


def page_of(rows: QuerySet, page: int, per_page: int = THREADS_PER_PAGE) -> tuple[list, bool]:
    """One page and whether there is a next one, without counting the whole table."""
    start = (page - 1) * per_page
    items = list(rows[start : start + per_page + 1])
    return items[:per_page], len(items) > per_page


def thread_page(
    organization: Organization, *, inbox: Inbox | None = None, page: int = 1, **filters: Any
) -> tuple[list[Thread], bool]:
    """A page of threads with the marks the staff UI's list shows (`unread`,
    `has_attachments`), looked up for that page's threads only, so the cost does not grow
    with the mailbox. `filters`: list_threads()'s (status, assignee, label, inbox_ids)."""
    threads, has_next = page_of(list_threads(organization, inbox=inbox, **filters), page)
    ids = [thread.pk for thread in threads]
    unread = set(
        Message.objects.filter(
            thread_id__in=ids, is_read=False, direction=Message.Direction.INBOUND
        ).values_list("thread_id", flat=True)
    )
    with_files = set(
        Attachment.objects.filter(message__thread_id__in=ids, inline=False).values_list(
            "message__thread_id", flat=True
        )
    )
    for thread in threads:
        thread.unread = thread.pk in unread  # type: ignore[attr-defined]
        thread.has_attachments = thread.pk in with_files  # type: ignore[attr-defined]
    return threads, has_next


def thread_messages(thread: Thread) -> list[Message]:
    """A thread's messages in the order they were written, with their attachments."""
    files = Attachment.objects.order_by("id")
    return list(
        thread.messages.order_by("created_at", "id")
        .exclude(status=Message.Status.BLOCKED)  # shown in the Blocked view until released
        .defer("search_vector")
        .prefetch_related(Prefetch("attachments", queryset=files))
    )


def get_thread_message(thread: Thread, message_id: str) -> Message:
    message = thread.messages.filter(public_id=message_id).first()
    if message is None:
        raise MessageNotFound()
    return message


def search_page(
    organization: Organization, query: str, *, inbox: Inbox | None = None, page: int = 1
) -> tuple[list[Message], bool]:
    """A page of search_messages() with each message's thread and inbox, without the HTML
    bodies (a result shows a snippet of the text)."""
    rows = search_messages(organization, query, inbox=inbox).select_related("thread", "inbox")
    return page_of(rows.defer("search_vector", "html"), page)


def list_inboxes_with_unread(organization: Organization) -> list[Inbox]:
    """The organization's inboxes, each with `unread_threads` (threads holding unread
    received mail), counted from the small partial index of unread messages."""
    counts = dict(
        Message.objects.filter(
            organization=organization, is_read=False, direction=Message.Direction.INBOUND
        )
        .values_list("inbox_id")
        .annotate(threads=Count("thread_id", distinct=True))
        .order_by()
    )
    inboxes = list(list_inboxes(organization).order_by("email"))
    for inbox in inboxes:
        inbox.unread_threads = counts.get(inbox.pk, 0)  # type: ignore[attr-defined]
    return inboxes


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


# --- drafts (messages/services/drafts.py; the message_drafts partial index) ----------------


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
        return _messages_of(inbox).get(public_id=message_id, direction=Message.Direction.OUTBOUND)
    except Message.DoesNotExist:
        raise DraftNotFound() from None
