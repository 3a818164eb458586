"""Sending from the staff UI through the API's own path: the same input serializers, the same
services (messages.services.outbound: threading headers, limits, suppressions, queue + worker,
the configured email backend), the organization's send budget and Idempotency-Key records.

Each compose/reply/forward form carries a key generated when the form was rendered, so a
double click or a resubmitted POST sends once and lands on the same thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings

from inboxes.models import Organization
from messages.models import Message
from messages.serializers import ForwardInput, ReplyInput, SendInput
from messages.services import outbound
from sendook.api import fingerprint_of, run_once, send_rates, spend_budgets
from sendook.exceptions import RateLimited, ValidationFailed

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
    """The organization's hourly send budget and daily cap, the counters the API's
    SendRateThrottle spends too. Fails open if the cache is down."""
    usage = spend_budgets(request, organization, send_rates(organization))
    if usage is not None and usage.exceeded:
        raise RateLimited(
            f"This organization has used its sending budget ({usage.rate}); try again later."
        )


def send_once(
    request: Any,
    organization: Organization,
    form_key: str,
    form: dict[str, Any],
    send: Callable[[], Message],
) -> Message:
    """Run `send` once per form key; a repeat within SENDOOK_IDEMPOTENCY_TTL_HOURS returns the
    message the first submit created. Only a first submit spends the send budget."""
    if not 8 <= len(form_key) <= 200:
        raise ValidationFailed.for_field("idempotency_key", "The form expired; reload the page.")

    def first_send() -> Message:
        check_send_budget(request, organization)
        return send()

    return run_once(
        organization,
        KEY_PREFIX + form_key,
        fingerprint_of(form),
        first_send,
        keep=lambda message: (202, {"id": message.public_id}),
        replay=lambda record: Message.objects.get(
            organization=organization, public_id=record.response["id"]
        ),
        reused_message="This form was already sent with different content; reload the page.",
    )


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
