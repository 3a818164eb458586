"""Thread bookkeeping (counts, participants, labels, preview) and message labels."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inboxes.addresses import addr_spec
from messages.inbound.parsing import normalize_subject
from messages.models import Message, Thread

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_DROPPED = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
MAX_PARTICIPANTS = 100


def thread_key(subject: str) -> str:
    """The subject-threading key: reply/forward prefixes stripped, lower-cased, indexable."""
    from messages.services.threading import indexable_text

    return indexable_text(normalize_subject(subject or "")[:250])


def preview_of(text: str, html: str, length: int = 200) -> str:
    if not text and html:
        text = html_lib.unescape(_TAG.sub(" ", _DROPPED.sub(" ", html)))
    return _SPACE.sub(" ", text).strip()[:length]


def new_thread(message: Message) -> Thread:
    """The thread a first message starts, inserted once with its summary already filled in."""
    thread = Thread(
        organization_id=message.organization_id,
        inbox_id=message.inbox_id,
        subject=message.subject,
        # The same key the inbound pipeline matches replies on (subject fallback).
        normalized_subject=thread_key(message.subject),
    )
    _summarize(thread, message, timezone.now())
    thread.save()
    return thread


def _summarize(thread: Thread, message: Message, when: datetime) -> None:
    participants = list(thread.participants)
    for address in [message.from_email, *message.to, *message.cc]:
        spec = addr_spec(address) if "<" in address else address.lower()
        if spec and spec not in participants and len(participants) < MAX_PARTICIPANTS:
            participants.append(spec)
    thread.participants = participants
    thread.labels = list(dict.fromkeys([*thread.labels, *message.labels]))
    thread.message_count += 1
    if thread.last_message_at is None or when >= thread.last_message_at:
        thread.last_message_at = when
        # Received replies show their new text, not the quoted history.
        thread.preview = preview_of(message.extracted_text or message.text, message.html)
    if not thread.subject and message.subject:
        thread.subject = message.subject
        thread.normalized_subject = thread_key(message.subject)


def add_to_thread(thread: Thread, message: Message) -> Thread:
    """Called in the transaction that created `message`, with `thread` locked."""
    _summarize(thread, message, message.created_at)
    thread.save(
        update_fields=[
            "participants", "labels", "message_count", "last_message_at", "preview",
            "subject", "normalized_subject", "updated_at",
        ]
    )
    return thread


def lock_thread(thread_pk: int) -> Thread:
    return Thread.objects.select_for_update().get(pk=thread_pk)


@transaction.atomic
def update_labels(message: Message, *, add: list[str], remove: list[str]) -> Message:
    locked = Message.objects.select_for_update().get(pk=message.pk)
    # Added first, then removed: a label named in both ends up removed.
    labels = list(dict.fromkeys([*locked.labels, *add]))
    labels = [label for label in labels if label not in set(remove)]
    if labels != locked.labels:
        message.labels = labels
        message.save(update_fields=["labels", "updated_at"])
        thread = lock_thread(message.thread_id)
        union: list[str] = []
        for row in Message.objects.filter(thread=thread).values_list("labels", flat=True):
            union += [label for label in row if label not in union]
        thread.labels = union
        thread.save(update_fields=["labels", "updated_at"])
        message.thread = thread
    return message
