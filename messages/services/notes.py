"""Internal notes on a thread: written by the organization's people and agents, shown in the
thread between its messages, never sent to anyone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from messages.models import Note, Thread
from messages.payloads import note_payload
from messages.services.provenance import Actor
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.exceptions import ValidationFailed


def note_max_chars() -> int:
    return settings.SENDOOK_NOTE_MAX_CHARS


def clean_note_text(text: Any) -> str:
    """The note as stored: surrounding blank lines trimmed. Empty, too long, or holding a NUL
    (which PostgreSQL text cannot store) → 400 naming `text`."""
    if not isinstance(text, str):
        raise ValidationFailed.for_field("text", "A note's text is a string.")
    text = text.strip("\r\n").rstrip()
    if not text.strip():
        raise ValidationFailed.for_field("text", "A note needs some text.")
    limit = note_max_chars()
    if len(text) > limit:
        raise ValidationFailed.for_field(
            "text", f"A note is at most {limit} characters; this one is {len(text)}."
        )
    if "\x00" in text:
        raise ValidationFailed.for_field("text", "A note cannot contain NUL characters.")
    return text


@transaction.atomic
def add_note(thread: Thread, *, actor: Actor, text: str) -> Note:
    """Write a note on `thread` as `actor`; records `note.created` (payload: the note)."""
    note = Note.objects.create(
        organization_id=thread.organization_id,
        thread=thread,
        author=dict(actor),
        text=clean_note_text(text),
    )
    record_event(
        thread.organization,
        event_type=EventType.NOTE_CREATED,
        payload=note_payload(note),
        inbox_id=thread.inbox.public_id,
    )
    return note
