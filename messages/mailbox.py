"""Reads and small writes behind the staff inbox UI, scoped to an organization the user belongs
to. The API's selectors and sending services live elsewhere; this module only adds what a mail
client needs on top: memberships, unread state, thread pages, labels and read marks."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from inboxes.models import Inbox, Organization
from messages.models import Attachment, Message, Thread

THREADS_PER_PAGE = 50
MAX_LABEL_LENGTH = 100

User = AbstractBaseUser | AnonymousUser


def organizations_for(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk).order_by("name", "id")


def pick_organization(user: User, wanted_id: str | None) -> Organization | None:
    """The organization the user asked for if they belong to it, else their first one."""
    rows = organizations_for(user)
    if wanted_id:
        chosen = rows.filter(public_id=wanted_id).first()
        if chosen is not None:
            return chosen
    return rows.first()


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
    inboxes = list(Inbox.objects.filter(organization=organization).order_by("email"))
    for inbox in inboxes:
        inbox.unread_threads = counts.get(inbox.pk, 0)  # type: ignore[attr-defined]
    return inboxes


def get_inbox(organization: Organization, inbox_id: str) -> Inbox:
    inbox = Inbox.objects.filter(organization=organization, public_id=inbox_id).first()
    if inbox is None:
        raise Http404("Inbox not found")
    return inbox


def list_threads(organization: Organization, *, inbox: Inbox | None = None) -> QuerySet[Thread]:
    """Newest activity first."""
    rows = Thread.objects.filter(organization=organization)
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    # Exactly the thread_*_activity indexes' order, so a page is an index range scan.
    return rows.select_related("inbox").order_by("-last_message_at", "-id")


def page_of(rows: QuerySet, page: int, per_page: int = THREADS_PER_PAGE) -> tuple[list, bool]:
    """One page and whether there is a next one, without counting the whole table."""
    start = (page - 1) * per_page
    items = list(rows[start : start + per_page + 1])
    return items[:per_page], len(items) > per_page


def thread_page(
    organization: Organization, *, inbox: Inbox | None = None, page: int = 1
) -> tuple[list[Thread], bool]:
    """A page of threads with the marks the list shows (`unread`, `has_attachments`), looked up
    for that page's threads only, so the cost does not grow with the mailbox."""
    threads, has_next = page_of(list_threads(organization, inbox=inbox), page)
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


def get_thread(organization: Organization, thread_id: str) -> Thread:
    thread = (
        Thread.objects.select_related("inbox")
        .filter(organization=organization, public_id=thread_id)
        .first()
    )
    if thread is None:
        raise Http404("Thread not found")
    return thread


def thread_messages(thread: Thread) -> list[Message]:
    files = Attachment.objects.order_by("id")
    return list(
        thread.messages.order_by("created_at", "id")
        .defer("search_vector")
        .prefetch_related(Prefetch("attachments", queryset=files))
    )


def get_attachment(organization: Organization, attachment_id: str) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message")
        .filter(message__organization=organization, public_id=attachment_id)
        .first()
    )
    if attachment is None:
        raise Http404("Attachment not found")
    return attachment


def mark_thread(thread: Thread, *, read: bool) -> None:
    """Read marks every message; unread marks the latest inbound one, as mail clients do."""
    messages = thread.messages.filter(direction=Message.Direction.INBOUND)
    if read:
        messages.filter(is_read=False).update(is_read=True)
        return
    latest = messages.order_by("-created_at", "-id").first()
    if latest is not None and latest.is_read:
        Message.objects.filter(pk=latest.pk).update(is_read=False)


def clean_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise ValueError("A label cannot be empty.")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"A label has at most {MAX_LABEL_LENGTH} characters.")
    return label


def change_thread_labels(thread: Thread, *, add: list[str], remove: list[str]) -> Thread:
    """A thread's labels are the union of its messages' labels (messages.services.threads), so
    the UI adds or removes a label on every message of the thread through the API's service."""
    from messages.services.threads import update_labels

    add = [clean_label(label) for label in add]
    remove = [clean_label(label) for label in remove]
    with transaction.atomic():
        for message in thread.messages.order_by("id"):
            update_labels(message, add=add, remove=remove)
    thread.refresh_from_db()
    return thread
