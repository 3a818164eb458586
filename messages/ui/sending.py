"""Sending from the staff UI through the API's own path: the same input serializers, the same
services (messages.services.send: threading headers, limits, suppressions, queue + worker,
the configured email backend), the organization's send budget and Idempotency-Key records.

Each compose/reply/forward form carries a key generated when the form was rendered, so a
double click or a resubmitted POST sends once and lands on the same thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from inboxes.addresses import addr_spec
from inboxes.models import Organization
from messages.api.drafts import DraftUpdateInput
from messages.api.serializers import AddressList, ForwardInput, ReplyInput, SendInput
from messages.models import Message
from messages.services import drafts
from messages.services import send as outbound
from messages.services.provenance import user_actor
from messages.ui.forms import split_addresses, validated
from sendook.api import (
    fingerprint_of,
    get_idempotency_model,
    run_once,
    send_rates,
    spend_budgets,
)
from sendook.exceptions import RateLimited, SendookError, ValidationFailed

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
    organization: Organization,
    inbox: Any,
    form: dict[str, str],
    *,
    by: Any,
    attachments: Sequence[outbound.NewAttachment] = (),
) -> Callable[[], Message]:
    data = validated(
        SendInput,
        {
            "to": split_addresses(form.get("to", "")),
            "cc": split_addresses(form.get("cc", "")),
            "bcc": split_addresses(form.get("bcc", "")),
            "subject": form.get("subject", ""),
            "text": form.get("text", ""),
        },
    )
    return lambda: outbound.send_message(
        inbox,
        to=data["to"],
        cc=data.get("cc", []),
        bcc=data.get("bcc", []),
        subject=data["subject"],
        text=data["text"],
        attachments=attachments,
        sender=_sender(by),
    )


class _ReplyForm(ReplyInput):
    """The reply form's boxes: its To is editable (the API's reply addresses the other party)."""

    to = AddressList(min_length=1)


def _same_addresses(one: Sequence[str], other: Sequence[str]) -> bool:
    return sorted(addr_spec(a) for a in one) == sorted(addr_spec(a) for a in other)


def _expected(form: dict[str, str]) -> dict[str, str]:
    """The collision check: the newest message the page showed (absent on older forms)."""
    expected = form.get("expected_last_message_id", "").strip()
    return {"expected_last_message_id": expected} if expected else {}


def reply(
    parent: Message,
    form: dict[str, str],
    *,
    reply_all: bool,
    by: Any,
    attachments: Sequence[outbound.NewAttachment] = (),
    quote: str = "",
) -> Callable[[], Message]:
    """A reply from the thread page. The To box is prefilled with whom the reply goes to;
    an edited To replaces them (reply-all still adds the original's other recipients)."""
    data = validated(
        _ReplyForm,
        {
            "to": split_addresses(form.get("to", "")),
            "cc": split_addresses(form.get("cc", "")),
            "bcc": split_addresses(form.get("bcc", "")),
            "text": form.get("text", ""),
        },
    )
    to = data["to"]
    if _same_addresses(to, outbound.reply_recipients(parent)):
        to = []  # as the service addresses it (the display names it knows)
    text = f"{data['text']}\n\n{quote}" if quote else data["text"]
    return lambda: outbound.reply_to_message(
        parent,
        reply_all=reply_all,
        to=to,
        cc=data.get("cc", []),
        bcc=data.get("bcc", []),
        text=text,
        attachments=attachments,
        sender=_sender(by),
        **_expected(form),
    )


def forward(
    parent: Message,
    form: dict[str, str],
    *,
    by: Any,
    attachments: Sequence[outbound.NewAttachment] = (),
) -> Callable[[], Message]:
    data = validated(
        ForwardInput, {"to": split_addresses(form.get("to", "")), "text": form.get("text", "")}
    )
    return lambda: outbound.forward_message(
        parent,
        to=data["to"],
        text=data.get("text", ""),
        attachments=attachments,
        sender=_sender(by),
        **_expected(form),
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


def save_compose_draft(
    organization: Organization, inbox: Any, form: dict[str, str], *, by: Any
) -> Message:
    """The compose page's "Save draft": into the draft its autosave made, else a new one."""
    draft = _own_draft(organization, form.get("draft", ""), by=by)
    if draft is not None:
        return save_draft(draft, form)
    return new_draft(inbox, form, by=by)


def send_draft(draft: Message, form: dict[str, str], *, by: Any) -> Callable[[], Message]:
    """Save the form's edits and send the draft, in one go (for send_once)."""
    fields = draft_fields(draft, form)

    def run() -> Message:
        edited = drafts.update_draft(draft, fields=fields)
        return drafts.send_draft(edited, sender=_sender(by))

    return run


def new_messages(thread: Any, message_ids: Sequence[str]) -> list[Message]:
    """The messages a collision names (they are in the thread), oldest first, for the prompt."""
    rows = thread.messages.filter(public_id__in=list(message_ids)).order_by("created_at", "id")
    return list(rows)


def _own_draft(organization: Organization, draft_id: str, *, by: Any) -> Message | None:
    """The signed-in person's own autosaved draft, or None (another's, sent, gone)."""
    if not draft_id:
        return None
    draft = (
        Message.objects.select_related("inbox", "thread")
        .filter(organization=organization, public_id=draft_id, status=Message.Status.DRAFT)
        .first()
    )
    me = user_actor(by)
    if draft is None or (draft.created_by.get("type"), draft.created_by.get("id")) != (
        me["type"],
        me["id"],
    ):
        return None
    return draft


def autosave(
    organization: Organization,
    form: dict[str, str],
    *,
    by: Any,
    inbox: Any = None,
    parent: Message | None = None,
) -> Message:
    """Keep what is being typed in a reply or new message as the person's own draft (made on
    the first save, updated after). Addresses still being typed that do not parse yet are left
    as they were, so the text is always kept."""
    draft = _own_draft(organization, form.get("draft", ""), by=by)
    try:
        fields = draft_fields(draft or Message(), form)
    except ValidationFailed:
        fields = draft_fields(draft or Message(), {"text": form.get("text", "")})
        fields = {"text": fields["text"]}
    if parent is not None:
        fields.pop("subject", None)  # a reply draft keeps the reply's subject
        if not fields.get("to"):
            fields.pop("to", None)
    fields = {name: value for name, value in fields.items() if name in drafts.EDITABLE}
    if draft is not None:
        return drafts.update_draft(draft, fields=fields)
    box = parent.inbox if parent is not None else inbox
    return drafts.create_draft(box, fields=fields, parent=parent, created_by=user_actor(by))


def latest_autosave(organization: Organization, parent: Message, *, by: Any) -> Message | None:
    """The person's newest reply draft in `parent`'s thread (what autosave kept there)."""
    rows = Message.objects.filter(
        organization=organization,
        thread_id=parent.thread_id,
        status=Message.Status.DRAFT,
        created_by__type="user",
        created_by__id=str(by.pk),
    ).exclude(in_reply_to="")
    return rows.order_by("-updated_at", "-id").first()


def discard_autosaved(organization: Organization, draft_id: str, *, by: Any) -> None:
    """Once the reply or message is sent, its autosaved draft goes (it is not mail to send)."""
    draft = _own_draft(organization, draft_id, by=by)
    if draft is None:
        return
    try:
        drafts.delete_draft(draft)
    except SendookError:  # sent or changed meanwhile: it is no longer an autosave to drop
        pass


def form_was_sent(organization: Organization, form_key: str) -> bool:
    """Whether the form with this key has been sent (an autosave arriving after its send must
    not leave a draft behind)."""
    if not form_key:
        return False
    model = get_idempotency_model()
    return model._default_manager.filter(
        organization=organization, key=KEY_PREFIX + form_key
    ).exists()
