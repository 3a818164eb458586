"""Threading inbound mail: which conversation a received message continues.

In-Reply-To, then References, against Message-IDs the inbox sent or received; then, for
replies and forwards only, the normalized subject among the inbox's recent threads the sender
already takes part in. The rule that matched is recorded on the message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from inboxes.models import Inbox
from messages.inbound.parsing import normalize_subject
from messages.models import Thread, ThreadRule
from messages.services.threads import thread_key


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
    sender = _sender(parsed) if parsed.from_ else ""
    if normalized and sender and is_reply:
        since = timezone.now() - timedelta(days=settings.SENDOOK_THREAD_SUBJECT_WINDOW_DAYS)
        candidates = Thread.objects.filter(
            inbox=inbox, normalized_subject=normalized, last_message_at__gte=since
        ).order_by("-last_message_at")[:20]
        for thread in candidates:
            if sender in {p.lower() for p in thread.participants}:
                return thread, ThreadRule.SUBJECT
    return None, ThreadRule.NEW


def indexable_text(value: str, max_bytes: int = 1000) -> str:
    """Indexed text must fit a PostgreSQL btree entry (~2.7 KB), whatever the characters."""
    if len(value) * 4 <= max_bytes:
        return value
    return value.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _sender(parsed: Any) -> str:
    sender = parsed.from_
    return (getattr(sender, "email", "") or "").lower()
