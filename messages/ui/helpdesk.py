"""The staff UI as a helpdesk: the views of the sidebar (Mine, Unassigned, All open, Pending,
Snoozed, Closed) with their counts, the organization's labels, and what a row of the thread list
shows (sender names, "me" for the inbox itself, the assignee).

The views are filters of the API's thread list (`?status=&assignee=`), read through the same
selectors; this module only names them for the page and shapes a page's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from inboxes.models import Inbox, Membership, Organization
from messages import selectors
from messages.models import Attachment, Message, Thread


@dataclass(frozen=True)
class View:
    key: str  # as the API's selectors name it (selectors.THREAD_VIEWS)
    name: str


VIEWS = (
    View("mine", "Mine"),
    View("unassigned", "Unassigned"),
    View("open", "All open"),
    View("pending", "Pending"),
    View("snoozed", "Snoozed"),
    View("closed", "Closed"),
)
VIEWS_BY_KEY = {view.key: view for view in VIEWS}
DEFAULT_VIEW = "open"


def view_named(key: str | None) -> View:
    """The view of `?view=`; an unknown or missing one is the default (All open)."""
    return VIEWS_BY_KEY.get(key or "", VIEWS_BY_KEY[DEFAULT_VIEW])


def threads_in_view(
    organization: Organization,
    *,
    member: Membership,
    view: View,
    inbox: Inbox | None = None,
    label: str = "",
) -> QuerySet[Thread]:
    """The view's threads, newest activity first: the API's thread list with the view's
    filters (Mine and Unassigned are the open and pending threads of me / of nobody), served
    by the thread_*_status_activity and thread_member_activity indexes."""
    filters = selectors.view_filters(view.key, member=member)
    rows = selectors.list_threads(organization, inbox=inbox, label=label or None, **filters)
    return rows.select_related("assignee_member__user", "assignee_key")


def view_counts(
    organization: Organization, *, member: Membership, inbox: Inbox | None = None
) -> dict[str, int]:
    """Every view's count in one aggregate query over the organization's (or inbox's)
    threads."""
    return selectors.thread_counts(organization, member=member, inbox=inbox)


LABELS_CACHE_SECONDS = 15


def _labels_key(organization: Organization) -> str:
    return f"sendook:ui:labels:{organization.public_id}"


def forget_labels(organization: Organization) -> None:
    """After this UI changed labels: the sidebar shows them on the next page, not 15 s later."""
    cache.delete(_labels_key(organization))


def organization_labels(organization: Organization) -> list[str]:
    """The labels on the organization's threads, sorted. Reading them scans the organization's
    threads (no index serves "every label in use"), the costliest query of a page at 10,000
    threads, so the list is kept LABELS_CACHE_SECONDS: a label an agent adds through the API
    shows in the sidebar within that time; one added here, at once (forget_labels)."""
    key = _labels_key(organization)
    found = cache.get(key)
    if found is None:
        found = _read_labels(organization)
        cache.set(key, found, LABELS_CACHE_SECONDS)
    return found


def _read_labels(organization: Organization) -> list[str]:
    # The distinct label sets (few, however many threads share them), unioned here.
    sets = (
        Thread.objects.filter(organization=organization)
        .exclude(labels=[])
        .values_list("labels", flat=True)
        .distinct()
    )
    found: set[str] = set()
    for labels in sets:
        found.update(label for label in labels if isinstance(label, str))
    return sorted(found, key=str.lower)


def sidebar(request: HttpRequest, inbox: Inbox | None) -> dict[str, Any]:
    """The layout's helpdesk part: the views (links and counts) across inboxes, or of `inbox`
    on its own thread list, and the organization's labels."""
    organization = request.organization  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    counts = view_counts(organization, member=member, inbox=inbox)
    base = reverse("mail:inbox", args=[inbox.public_id]) if inbox else reverse("mail:all-threads")
    return {
        "helpdesk_views": [
            {
                "key": view.key,
                "name": view.name,
                "count": counts[view.key],
                "url": f"{base}?view={view.key}",
            }
            for view in VIEWS
        ],
        "helpdesk_base": base,
        "helpdesk_labels": organization_labels(organization),
    }


# --- a page of rows -----------------------------------------------------------------------------


def member_name(member: Membership) -> str:
    user = member.user
    return user.get_full_name() or user.email or user.get_username()


def assignee_of(thread: Thread) -> dict[str, str] | None:
    """The thread's assignee as the page shows and posts it back (`expected_assignee`):
    {"type", "id", "name"}, or None."""
    if thread.assignee_member_id is not None:
        member = thread.assignee_member
        return {"type": "user", "id": member.public_id, "name": member_name(member)}
    if thread.assignee_key_id is not None:
        key = thread.assignee_key
        return {"type": "api_key", "id": key.public_id, "name": key.name or key.prefix}
    return None


def assignee_token(assignee: dict[str, str] | None) -> str:
    """How a form carries an assignee: "user:<id>", "api_key:<id>", or "" for nobody."""
    return f"{assignee['type']}:{assignee['id']}" if assignee else ""


def with_senders(threads: list[Thread]) -> list[Thread]:
    """Each thread's `senders`: the names of who wrote in it, in the order they first did,
    "me" for the inbox itself (one grouped query for the page); its `assignee`, and the marks
    `unread` and `has_attachments`."""
    ids = [thread.pk for thread in threads]
    # The list's marks, as selectors.thread_page sets them, for this page's threads only.
    unread: set[int] = set()
    with_files = set(
        Attachment.objects.filter(message__thread_id__in=ids, inline=False).values_list(
            "message__thread_id", flat=True
        )
    )
    by_thread: dict[int, list[tuple[str, str]]] = {pk: [] for pk in ids}
    rows = (
        Message.objects.filter(thread_id__in=ids)
        .exclude(status=Message.Status.DRAFT)
        .values("thread_id", "from_email")
        .annotate(
            name=Max("from_name"),
            first=Min("id"),
            # Unread received mail, in the same pass over the page's messages.
            unread=Count("id", filter=Q(is_read=False, direction=Message.Direction.INBOUND)),
        )
        .order_by("thread_id", "first")
    )
    for row in rows:
        by_thread[row["thread_id"]].append((row["from_email"], row["name"] or ""))
        if row["unread"]:
            unread.add(row["thread_id"])
    for thread in threads:
        own = thread.inbox.email.lower()
        names: list[str] = []
        for address, name in by_thread[thread.pk]:
            shown = "me" if address.lower() == own else (name or address)
            if shown not in names:
                names.append(shown)
        if names == ["me"]:
            # Only our own mail so far: say who it went to, as mail clients do.
            others = [p for p in thread.participants if p.lower() != own][:2]
            names += [f"to {p}" for p in others]
        thread.senders = names or list(thread.participants[:3])  # type: ignore[attr-defined]
        thread.assignee = assignee_of(thread)  # type: ignore[attr-defined]
        thread.unread = thread.pk in unread  # type: ignore[attr-defined]
        thread.has_attachments = thread.pk in with_files  # type: ignore[attr-defined]
    return threads
