"""Reads of threads: lists with the sidebar views' filters, counts, one thread with its
messages, pages of search results."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from inboxes.models import ApiKey, Inbox, Membership, Organization
from inboxes.selectors import list_inboxes
from messages.exceptions import (
    InvalidAssignee,
    MessageNotFound,
    ThreadNotFound,
)
from messages.models import Attachment, Message, Thread, ThreadStatus
from messages.selectors.messages import has_label, search_messages

THREADS_PER_PAGE = 50
# list_threads(assignee=…) not given: every thread, assigned or not.
UNFILTERED: Any = object()


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
        rows = rows.filter(has_label(label))
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
