"""What the thread page changes on a thread: read marks and labels, as a mail client does.

A thread's labels are the union of its messages' labels (messages.services.threads), so a label
is added to or removed from every message of the thread through the API's own service."""

from __future__ import annotations

from django.db import transaction

from messages.models import Message, Thread
from messages.services.threads import update_labels

MAX_LABEL_LENGTH = 100


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
    add = [clean_label(label) for label in add]
    remove = [clean_label(label) for label in remove]
    with transaction.atomic():
        for message in thread.messages.order_by("id"):
            update_labels(message, add=add, remove=remove)
    thread.refresh_from_db()
    return thread
