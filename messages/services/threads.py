"""Threads: which conversation a received message continues, the subjects replies and
forwards carry, and each thread's summary (counts, participants, labels, preview).

A received message joins a thread by In-Reply-To, then References, against Message-IDs the inbox
sent or received; then, for replies and forwards only, by the normalized subject among the
inbox's recent threads the sender already takes part in. The rule that matched is recorded on
the message.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inboxes.addresses import addr_spec
from inboxes.models import Inbox
from messages.models import Message, Thread, ThreadRule
from messages.payloads import preview_of

MAX_PARTICIPANTS = 100

# --- subjects ---------------------------------------------------------------------------------

# English plus the common European client translations (Aw/Wg German, Sv Nordic, Antw Dutch,
# Tr/Réf French, Rif/R Italian, Odp Polish, Vs Finnish, Ynt Turkish, Vb Dutch). Only the first
# two groups are what our own replies and forwards are recognised by.
_REPLY_WORDS = "re|aw|sv"
_FORWARD_WORDS = "fwd?"
_OTHER_WORDS = "antw|wg|tr|vs|rif|odp|ynt|vb|r[ée]f"


def _prefix(words: str) -> str:
    return rf"\s*(?:{words})\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*"


_SUBJECT_PREFIXES = re.compile(
    rf"^(?:{_prefix(f'{_REPLY_WORDS}|{_FORWARD_WORDS}|{_OTHER_WORDS}')})+", re.IGNORECASE
)
_REPLY_PREFIX = re.compile(rf"^{_prefix(_REPLY_WORDS)}", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(rf"^{_prefix(_FORWARD_WORDS)}", re.IGNORECASE)


def normalize_subject(subject: str) -> str:
    """Subject without reply/forward prefixes, whitespace collapsed, lower-cased."""
    if not isinstance(subject, str):
        return ""
    stripped = _SUBJECT_PREFIXES.sub("", subject)
    return " ".join(stripped.split()).lower()


def reply_subject(subject: str) -> str:
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".strip()


def forward_subject(subject: str) -> str:
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".strip()


def thread_key(subject: str) -> str:
    """The subject-threading key: reply/forward prefixes stripped, lower-cased, indexable."""
    return indexable_text(normalize_subject(subject or "")[:250])


def indexable_text(value: str, max_bytes: int = 1000) -> str:
    """Indexed text must fit a PostgreSQL btree entry (~2.7 KB), whatever the characters."""
    if len(value) * 4 <= max_bytes:
        return value
    return value.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


# --- matching a received message ----------------------------------------------------------------


def find_thread(inbox: Inbox, parsed: Any, *, participants: list[str]) -> tuple[Thread | None, str]:
    """The thread this message continues, and the rule that matched.

    Message-IDs are matched among messages this inbox sent or received (a thread belongs to one
    inbox, and never crosses organizations); then the normalized subject among the inbox's
    recent threads that the sender already takes part in.
    """
    in_reply_to = parsed.in_reply_to or ""
    references = [ref for ref in (parsed.references or []) if ref][-100:]
    wanted = {in_reply_to, *references} - {""}
    if wanted:
        # One query for every candidate: In-Reply-To wins, then the newest reference (the
        # closest ancestor).
        matches = {
            thread.matched_id: thread
            for thread in Thread.objects.filter(
                organization=inbox.organization,
                inbox=inbox,
                messages__inbox=inbox,
                messages__message_id__in=wanted,
            ).annotate(matched_id=F("messages__message_id"))
        }
        if in_reply_to in matches:
            return matches[in_reply_to], ThreadRule.IN_REPLY_TO
        for ref in reversed(references):
            if ref in matches:
                return matches[ref], ThreadRule.REFERENCES
    subject = parsed.subject or ""
    normalized = thread_key(subject)
    # Only replies and forwards (a prefix was stripped) join by subject: a fresh subject that
    # happens to repeat ("Daily report") starts its own conversation.
    is_reply = len(normalize_subject(subject)) < len(" ".join(subject.split()))
    sender = (getattr(parsed.from_, "email", "") or "").lower() if parsed.from_ else ""
    if normalized and sender and is_reply:
        since = timezone.now() - timedelta(days=settings.SENDOOK_THREAD_SUBJECT_WINDOW_DAYS)
        candidates = Thread.objects.filter(
            inbox=inbox, normalized_subject=normalized, last_message_at__gte=since
        ).order_by("-last_message_at")[:20]
        for thread in candidates:
            if sender in {p.lower() for p in thread.participants}:
                return thread, ThreadRule.SUBJECT
    return None, ThreadRule.NEW


# --- summaries --------------------------------------------------------------------------------


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
        thread.last_message_public_id = message.public_id
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
            "participants",
            "labels",
            "message_count",
            "last_message_at",
            "preview",
            "last_message_public_id",
            "subject",
            "normalized_subject",
            "updated_at",
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


# --- what a reader changes on a thread ---------------------------------------------------------


def mark_thread(thread: Thread, *, read: bool) -> None:
    """Read marks every message; unread marks the latest inbound one, as mail clients do."""
    messages = thread.messages.filter(direction=Message.Direction.INBOUND)
    if read:
        messages.filter(is_read=False).update(is_read=True)
        return
    latest = messages.order_by("-created_at", "-id").first()
    if latest is not None and latest.is_read:
        Message.objects.filter(pk=latest.pk).update(is_read=False)


def change_thread_labels(thread: Thread, *, add: list[str], remove: list[str]) -> Thread:
    """Adds and removes labels on every message of the thread (its labels are their union)."""
    with transaction.atomic():
        for message in thread.messages.order_by("id"):
            update_labels(message, add=add, remove=remove)
    thread.refresh_from_db()
    return thread
