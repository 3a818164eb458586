"""The thread page's helpdesk part: the work forms' context (assignee, choices, the activity
timeline in words; the forms themselves are views/work_forms.py), notes between the messages,
and how the page lays out a long conversation (older messages folded, HTML frames sized to
their content, attachments previewed)."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from inboxes.models import Membership
from inboxes.selectors import list_api_keys, members_of
from messages.models import Attachment, Thread
from messages.services import activity as activity_service
from messages.ui import helpdesk
from messages.ui.forms import THREAD_STATUSES
from messages.ui.views.attachments import INLINE_IMAGE_TYPES
from sendook.exceptions import SendookError

# Threads longer than this show their older messages folded to one line each (a <details>
# that opens without JavaScript); the newest KEEP_OPEN stay open.
COLLAPSE_AFTER = 4
KEEP_OPEN = 3
PREVIEWABLE_PDF = "application/pdf"


# --- the page's layout ---------------------------------------------------------------------------


_BLOCKS = re.compile(r"<(?:p|div|tr|li|h[1-6]|blockquote|table|pre|hr)\b", re.IGNORECASE)
_BREAKS = re.compile(r"<br\b", re.IGNORECASE)
_IMAGES = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_HEIGHT = re.compile(r"""\bheight\s*=\s*["']?(\d{1,4})""", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BODY = re.compile(r"<body>(.*)</body>", re.IGNORECASE | re.DOTALL)


def frame_height(srcdoc: str) -> int:
    """A height (px) for a message's frame, estimated from its cleaned HTML.

    Why not measure it in the browser: the frame is sandboxed without allow-scripts and without
    allow-same-origin, so its document has an opaque origin that the page's script cannot read
    (no scrollHeight), and nothing inside it may run to post its height out. Adding
    allow-same-origin (even without allow-scripts) would make the frame's requests same-site:
    an image in a message pointing at one of our URLs would be fetched with the reader's
    session cookie, and the frame's document would be readable and writable by any script of
    ours; we keep the frame fully isolated instead and estimate: lines of text at the frame's
    font (15px/1.45 ≈ 22px, ~80 characters per line at the usual width), block elements and
    breaks, images by their height attribute (200px otherwise), bounded. Too short scrolls
    inside the frame (and the frame is resizable); too tall leaves a little white space.
    """
    match = _BODY.search(srcdoc)
    body = match.group(1) if match else srcdoc
    text = " ".join(unescape(_TAGS.sub(" ", body)).split())
    lines = len(text) / 80 + len(_BLOCKS.findall(body)) * 0.6 + len(_BREAKS.findall(body))
    images = 0
    for tag in _IMAGES.findall(body):
        height = _HEIGHT.search(tag)
        images += min(int(height.group(1)), 1200) if height else 200
    estimate = int(16 + lines * 22 + images)
    return max(80, min(estimate, 2400))


def preview_of(attachment: Attachment) -> dict[str, Any]:
    """How the page shows an attachment: an image as a thumbnail (served inline, its own type),
    a PDF with a Preview link (opened in the browser's viewer), anything else as a download."""
    content_type = attachment.content_type.lower()
    return {
        "file": attachment,
        "image": content_type in INLINE_IMAGE_TYPES,
        "pdf": content_type == PREVIEWABLE_PDF,
    }


def with_notes(items: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's messages with the thread's notes (from its activity timeline, so not read
    twice) between them, in time order; in a long thread the older messages are `collapsed`."""
    messages = [item for item in items if item["kind"] == "message"]
    if len(messages) > COLLAPSE_AFTER:
        for item in messages[:-KEEP_OPEN]:
            item["collapsed"] = True
    notes = [
        {
            "kind": "note",
            "at": _moment(entry.get("at")),
            "id": entry.get("noteId") or entry.get("id"),
            "text": entry.get("text", ""),
            "author": _author(entry.get("actor")),
        }
        for entry in timeline
        if entry.get("type") == "note"
    ]
    # A stable sort: a note written at the same instant as a message comes after it.
    return sorted([*items, *notes], key=lambda item: item["at"])


def thread_context(
    request: HttpRequest, thread: Thread, items: list[dict[str, Any]], **errors: Any
) -> dict[str, Any]:
    """The thread page's helpdesk part: its items with notes, and the work forms' context."""
    try:
        timeline = activity_service.thread_activity(thread)
    except SendookError:
        timeline = []
    return {"items": with_notes(items, timeline), **controls(request, thread, timeline, **errors)}


def _author(actor: Any) -> str:
    actor = actor if isinstance(actor, dict) else {}
    return str(actor.get("name") or actor.get("id") or actor.get("type") or "Someone")


def controls(
    request: HttpRequest, thread: Thread, timeline: list[dict[str, Any]], **errors: Any
) -> dict[str, Any]:
    """What the thread page's assign/status/snooze/note forms need."""
    organization = request.organization  # type: ignore[attr-defined]
    member: Membership = request.member  # type: ignore[attr-defined]
    assignee = helpdesk.assignee_of(thread)
    choices = [("", "Nobody")]
    choices += [(f"user:{m.public_id}", helpdesk.member_name(m)) for m in members_of(organization)]
    choices += [
        (f"api_key:{key.public_id}", f"{key.name or key.prefix} (API key)")
        for key in list_api_keys(organization).order_by("name", "id")
    ]
    return {
        "assignee": assignee,
        "assignee_token": helpdesk.assignee_token(assignee),
        "assigned_to_me": bool(
            assignee and assignee["type"] == "user" and assignee["id"] == member.public_id
        ),
        "assignee_choices": choices,
        "status_choices": THREAD_STATUSES,
        "activity": [describe(entry) for entry in timeline],
        **errors,
    }


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) else None


def describe(entry: dict[str, Any]) -> dict[str, Any]:
    """One activity entry (the API's timeline) in words: who, what, when."""
    actor = entry.get("actor") or {}
    kind = entry.get("type") or entry.get("kind") or ""
    changes = entry.get("changes") or {}
    words = {
        "message": "wrote a message",
        "note": "added a note",
        "hold": "held a message",
        "approval": "approved a message",
        "decline": "declined a message",
    }.get(kind, kind.replace("_", " "))
    if "status" in changes:
        change = changes["status"]
        words = f"changed the status from {change.get('from')} to {change.get('to')}"
    elif "assignee" in changes:
        to = (changes["assignee"] or {}).get("to")
        words = f"assigned it to {to.get('name') or to.get('id')}" if to else "unassigned it"
    elif "labels" in changes or "addLabels" in changes or "removeLabels" in changes:
        labels = changes.get("labels") or {}
        added = labels.get("added") or changes.get("addLabels") or []
        removed = labels.get("removed") or changes.get("removeLabels") or []
        parts = [
            f"added {', '.join(added)}" if added else "",
            f"removed {', '.join(removed)}" if removed else "",
        ]
        words = "labels: " + "; ".join(part for part in parts if part)
    elif entry.get("summary"):
        words = entry["summary"]
    return {
        "actor": actor.get("name") or actor.get("id") or actor.get("type") or "Sendook",
        "actor_type": actor.get("type", ""),
        "words": words,
        "at": _moment(entry.get("at")),
    }
