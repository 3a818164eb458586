"""Sending from the staff UI through the API's own path: the same input serializers, the same
services (messages.services.send: threading headers, limits, suppressions, queue + worker,
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
from messages.api.serializers import ForwardInput, ReplyInput, SendInput
from messages.models import Message
from messages.services import send as outbound
from messages.ui.forms import split_addresses, validated
from sendook.exceptions import Conflict, RateLimited, ValidationFailed

logger = logging.getLogger(__name__)

KEY_PREFIX = "ui:"


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


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
    data = validated(
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
    data = validated(ReplyInput, {"text": form.get("text", "")})
    return lambda: outbound.reply_to_message(parent, reply_all=reply_all, text=data["text"])


def forward(parent: Message, form: dict[str, str]) -> Callable[[], Message]:
    data = validated(
        ForwardInput, {"to": split_addresses(form.get("to", "")), "text": form.get("text", "")}
    )
    return lambda: outbound.forward_message(parent, to=data["to"], text=data.get("text", ""))
