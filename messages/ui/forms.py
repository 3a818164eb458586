"""What the staff UI's forms submit: read from the POST, checked by the API's own input
serializers with errors reworded for a person, and kept across a login when the session expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest

from sendook.exceptions import ValidationFailed

COMPOSE_FIELDS = ("inbox", "to", "cc", "bcc", "subject", "text", "draft")
SEND_FORM_FIELDS = ("parent", "text", "to", "mode")
# What was typed into a send form whose session had expired, kept until the user is back.
DRAFTS_SESSION_KEY = "sendook_drafts"
MAX_DRAFTS = 5
MAX_DRAFT_CHARS = 500_000


def read_form(request: HttpRequest, fields: tuple[str, ...]) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in fields}


def page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


# The form's own words for the serializer fields it fills.
FIELD_LABELS = {"to": "to", "cc": "cc", "subject": "subject", "text": "message"}
ADDRESS_FIELDS = {"to", "cc", "bcc", "reply_to"}


def readable_errors(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, list[str]]:
    """Serializer errors as sentences naming the field and, for an address, the value typed:
    "to: not-an-email is not a valid address." (DRF nests a list item's errors under its
    index; shown raw, that is a Python repr)."""
    readable: dict[str, list[str]] = {}
    order = list(data)  # the order of the form's boxes
    ranked = sorted(
        errors.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)
    )
    for name, detail in ranked:
        label = FIELD_LABELS.get(name, name)
        messages = readable.setdefault(label, [])
        if isinstance(detail, dict):  # {index: [errors of that list item]}
            for index, item_errors in sorted(detail.items()):
                value = data.get(name, [])[index] if isinstance(index, int) else index
                if name in ADDRESS_FIELDS:
                    messages.append(f"{label}: {value} is not a valid address.")
                else:
                    messages += [f"{label}: {value}: {error}" for error in item_errors]
            continue
        for error in detail if isinstance(detail, list) else [detail]:
            code = getattr(error, "code", "")
            if name in ADDRESS_FIELDS and code in ("empty", "min_length"):
                messages.append(f"{label}: enter at least one address.")
            elif name in ADDRESS_FIELDS and code == "max_length":
                count, most = len(data.get(name, [])), settings.SENDOOK_MAX_RECIPIENTS
                messages.append(f"{label}: {count} addresses are too many (at most {most}).")
            elif name == "text" and "Provide text" in str(error):
                messages.append(f"{label}: it is empty; write something to send.")
            else:
                messages.append(f"{label}: {error}")
    return {label: messages for label, messages in readable.items() if messages}


def validated(serializer_class: type, data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        fields = readable_errors(data, serializer.errors)
        problems = [message for messages in fields.values() for message in messages]
        raise ValidationFailed(" ".join(problems) or "Invalid input.", fields=fields)
    return dict(serializer.validated_data)


def split_addresses(value: str) -> list[str]:
    """The addresses typed in one box, separated by commas or semicolons; a comma inside a
    quoted display name ("Lovelace, Ada" <ada@example.com>) or <…> does not separate."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angle += 1
        elif not quoted and char == ">":
            angle = max(0, angle - 1)
        elif not quoted and not angle and char in ",;":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def keep_draft(request: HttpRequest, page: str, fields: dict[str, str]) -> None:
    """Keep a form's content for `page` in the session (Django's login keeps an anonymous
    session's data), so a send made after the session expired is not lost."""
    drafts = dict(request.session.get(DRAFTS_SESSION_KEY) or {})
    drafts.pop(page, None)
    drafts[page] = {name: str(value)[:MAX_DRAFT_CHARS] for name, value in fields.items()}
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[DRAFTS_SESSION_KEY] = drafts


def take_draft(request: HttpRequest, page: str) -> dict[str, str] | None:
    drafts = dict(request.session.get(DRAFTS_SESSION_KEY) or {})
    draft = drafts.pop(page, None)
    if draft is not None:
        request.session[DRAFTS_SESSION_KEY] = drafts
    return draft


# A label as the thread page's form gives it: spaces folded, bounded like the API's.
MAX_LABEL_LENGTH = 100


def clean_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise ValueError("A label cannot be empty.")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"A label has at most {MAX_LABEL_LENGTH} characters.")
    return label


# --- the helpdesk forms: bulk actions, status, assignee, snooze -------------------------------

# The thread list's "Bulk action" select: value, what the person reads.
BULK_ACTIONS = (
    ("status:open", "Mark open"),
    ("status:pending", "Mark pending"),
    ("status:closed", "Close"),
    ("assign:me", "Assign to me"),
    ("assign:none", "Unassign"),
    ("label:add", "Add label…"),
    ("read", "Mark read"),
    ("unread", "Mark unread"),
)
THREAD_STATUSES = (("open", "Open"), ("pending", "Pending"), ("closed", "Closed"))
MAX_BULK_THREADS = 200


def parse_assignee(value: str) -> dict[str, str] | None:
    """An assignee as a form carries it ("user:<id>", "api_key:<id>", "" for nobody)."""
    value = value.strip()
    if not value or value == "none":
        return None
    kind, _, ident = value.partition(":")
    if kind not in ("user", "api_key") or not ident:
        raise ValueError(f"Assignee: {value} is not a member or an API key of this organization.")
    return {"type": kind, "id": ident}


def parse_snooze(value: str, zone_name: str, *, now: datetime) -> datetime:
    """The "Snooze until" box (a datetime-local: no zone) read in the viewer's time zone (the
    page's script sends it; UTC without JavaScript); it must be in the future."""
    value = value.strip()
    if not value:
        raise ValueError("Snooze until: pick a date and time to snooze until.")
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"Snooze until: {value} is not a date and time.") from None
    try:
        zone: tzinfo = ZoneInfo(zone_name) if zone_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    when = naive.replace(tzinfo=zone) if naive.tzinfo is None else naive
    if when <= now:
        shown = naive.strftime("%Y-%m-%d %H:%M")
        raise ValueError(f"Snooze until: {shown} is in the past; pick a later time.")
    return when
