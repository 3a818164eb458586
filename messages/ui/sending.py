"""Sending from the staff UI through the API's own path: the same input serializers, the same
services (messages.services.send: threading headers, limits, suppressions, queue + worker,
the configured email backend), the organization's send budget and Idempotency-Key records.

Each compose/reply/forward form carries a key generated when the form was rendered, so a
double click or a resubmitted POST sends once and lands on the same thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from inboxes.models import Organization
from messages.api.drafts import DraftUpdateInput
from messages.api.serializers import ForwardInput, ReplyInput, SendInput
from messages.models import Message
from messages.services import drafts
from messages.services import send as outbound
from messages.services.provenance import user_actor
from messages.ui.forms import split_addresses, validated
from sendook.api import fingerprint_of, run_once, send_rates, spend_budgets
from sendook.exceptions import RateLimited, ValidationFailed

KEY_PREFIX = "ui:"


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


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


def _sender(user: Any) -> outbound.Sender:
    """A staff send: created by the signed-in person (the send policy applies as to keys)."""
    return outbound.Sender(created_by=user_actor(user))


def compose(
    organization: Organization, inbox: Any, form: dict[str, str], *, by: Any
) -> Callable[[], Message]:
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
        inbox,
        to=data["to"],
        cc=data.get("cc", []),
        subject=data["subject"],
        text=data["text"],
        sender=_sender(by),
    )


def reply(
    parent: Message, form: dict[str, str], *, reply_all: bool, by: Any
) -> Callable[[], Message]:
    data = validated(ReplyInput, {"text": form.get("text", "")})
    return lambda: outbound.reply_to_message(
        parent, reply_all=reply_all, text=data["text"], sender=_sender(by)
    )


def forward(parent: Message, form: dict[str, str], *, by: Any) -> Callable[[], Message]:
    data = validated(
        ForwardInput, {"to": split_addresses(form.get("to", "")), "text": form.get("text", "")}
    )
    return lambda: outbound.forward_message(
        parent, to=data["to"], text=data.get("text", ""), sender=_sender(by)
    )


def draft_fields(draft: Message, form: dict[str, str]) -> dict[str, Any]:
    """The draft form's boxes as draft changes, checked like the API's PATCH. The form edits
    the text: once it changes, an HTML version written beside it (by an agent) is dropped, so
    what is sent is what the person read and wrote."""
    data = validated(
        DraftUpdateInput,
        {
            "to": split_addresses(form.get("to", "")),
            "cc": split_addresses(form.get("cc", "")),
            "subject": form.get("subject", ""),
            "text": form.get("text", ""),
        },
    )
    if draft.html and data["text"] != draft.text:
        data["html"] = ""
    return data


def save_draft(draft: Message, form: dict[str, str]) -> Message:
    return drafts.update_draft(draft, fields=draft_fields(draft, form))


def new_draft(inbox: Any, form: dict[str, str], *, by: Any) -> Message:
    """The compose page's "Save draft": a draft written by the signed-in person."""
    fields = {
        name: value
        for name, value in draft_fields(Message(), form).items()
        if name in drafts.EDITABLE
    }
    return drafts.create_draft(inbox, fields=fields, created_by=user_actor(by))


def send_draft(draft: Message, form: dict[str, str], *, by: Any) -> Callable[[], Message]:
    """Save the form's edits and send the draft, in one go (for send_once)."""
    fields = draft_fields(draft, form)

    def run() -> Message:
        edited = drafts.update_draft(draft, fields=fields)
        return drafts.send_draft(edited, sender=_sender(by))

    return run
