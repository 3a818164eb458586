"""Sending from the staff UI through the API's own path: the same input serializers, the same
services (messages.services.outbound: threading headers, limits, suppressions, queue + worker,
the configured email backend), the organization's send budget and Idempotency-Key records.

Each compose/reply/forward form carries a key generated when the form was rendered, so a
double click or a resubmitted POST sends once and lands on the same thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django_ratelimit.core import get_usage

from inboxes.models import IdempotencyRecord, Organization
from messages.models import Message
from messages.serializers import ForwardInput, ReplyInput, SendInput
from messages.services import send as outbound
from sendook.exceptions import Conflict, RateLimited, ValidationFailed

logger = logging.getLogger(__name__)

KEY_PREFIX = "ui:"


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


# The form's own words for the serializer fields it fills.
FIELD_LABELS = {"to": "to", "cc": "cc", "subject": "subject", "text": "message"}
ADDRESS_FIELDS = {"to", "cc", "bcc", "reply_to"}


def _readable_errors(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, list[str]]:
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


def _validated(serializer_class: type, data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        fields = _readable_errors(data, serializer.errors)
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


def check_send_budget(request: Any, organization: Organization) -> None:
    """The organization's hourly send budget and daily cap, shared with the API's
    SendRateThrottle (same django-ratelimit groups and key). Fails open if the cache is down."""
    rates = [
        ("send", organization.send_rate_limit or settings.SENDOOK_SEND_RATE_LIMIT),
        ("send-daily", f"{organization.daily_send_cap or settings.SENDOOK_DAILY_SEND_CAP}/d"),
    ]
    for group, rate in rates:
        try:
            usage = get_usage(
                request,
                group=group,
                key=lambda _g, _r: organization.public_id,
                rate=rate,
                increment=True,
            )
        except Exception:
            logger.warning("rate limit cache unavailable; allowing UI send", exc_info=True)
            continue
        if usage and usage["should_limit"]:
            raise RateLimited(
                f"This organization has used its sending budget ({rate}); try again later."
            )


def send_once(
    request: Any,
    organization: Organization,
    form_key: str,
    form: dict[str, Any],
    send: Callable[[], Message],
) -> Message:
    """Run `send` once per form key; a repeat returns the message the first submit created."""
    if not 8 <= len(form_key) <= 200:
        raise ValidationFailed.for_field("idempotency_key", "The form expired; reload the page.")
    key = KEY_PREFIX + form_key
    fingerprint = hashlib.sha256(json.dumps(form, sort_keys=True, default=str).encode()).hexdigest()
    records = IdempotencyRecord.objects.filter(organization=organization, key=key)

    def replay(record: IdempotencyRecord) -> Message:
        if record.fingerprint != fingerprint:
            raise Conflict("This form was already sent with different content; reload the page.")
        return Message.objects.get(organization=organization, public_id=record.response["id"])

    existing = records.first()
    if existing is not None:
        return replay(existing)
    check_send_budget(request, organization)
    try:
        with transaction.atomic():
            message = send()
            IdempotencyRecord.objects.create(
                organization=organization,
                key=key,
                fingerprint=fingerprint,
                status_code=202,
                response={"id": message.public_id},
            )
    except IntegrityError:
        winner = records.first()
        if winner is None:
            raise
        return replay(winner)
    return message


def compose(organization: Organization, inbox: Any, form: dict[str, str]) -> Callable[[], Message]:
    data = _validated(
        SendInput,
        {
            "to": split_addresses(form.get("to", "")),
            "cc": split_addresses(form.get("cc", "")),
            "subject": form.get("subject", ""),
            "text": form.get("text", ""),
        },
    )
    return lambda: outbound.send_message(
        inbox, to=data["to"], cc=data.get("cc", []), subject=data["subject"], text=data["text"]
    )


def reply(parent: Message, form: dict[str, str], *, reply_all: bool) -> Callable[[], Message]:
    data = _validated(ReplyInput, {"text": form.get("text", "")})
    return lambda: outbound.reply_to_message(parent, reply_all=reply_all, text=data["text"])


def forward(parent: Message, form: dict[str, str]) -> Callable[[], Message]:
    data = _validated(
        ForwardInput, {"to": split_addresses(form.get("to", "")), "text": form.get("text", "")}
    )
    return lambda: outbound.forward_message(parent, to=data["to"], text=data.get("text", ""))
