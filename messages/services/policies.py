"""Whether a send waits for a person: the one place every send-type action (send, reply,
reply-all, forward, the staff UI's forms) asks, from messages.services.send.

The checks run cheapest first and stop at the first that holds: the pause switches and the
key's flag are columns already loaded with the request; `external` costs one query on the
inboxes' Lower(email) index; `first_contact` one query on the correspondents' (inbox, email)
unique index. An inbox with `approval: never` and nothing paused costs no query at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from inboxes.addresses import addr_spec, split_address
from inboxes.models import Inbox, SendApproval
from messages.models import Message
from messages.services.correspondents import known_correspondents
from messages.services.routing import hosted_inboxes


class HoldReason:
    ORGANIZATION_PAUSED = "organization_paused"
    INBOX_PAUSED = "inbox_paused"
    KEY_REQUIRES_APPROVAL = "key_requires_approval"
    ALWAYS = "always"
    EXTERNAL = "external"
    FIRST_CONTACT = "first_contact"

    ALL = (
        ORGANIZATION_PAUSED,
        INBOX_PAUSED,
        KEY_REQUIRES_APPROVAL,
        ALWAYS,
        EXTERNAL,
        FIRST_CONTACT,
    )


@dataclass(frozen=True)
class Hold:
    reason: str
    # The recipients the reason is about (all of them, except for external/first_contact).
    recipients: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "recipients": list(self.recipients)}


def _bare(recipients: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(addr_spec(value).lower() for value in recipients if value))


def pause_hold(inbox: Inbox, recipients: Sequence[str]) -> Hold | None:
    """The pause switches alone (the scheduled-send sweep asks again when a message is due)."""
    if inbox.organization.sending_paused:
        return Hold(HoldReason.ORGANIZATION_PAUSED, _bare(recipients))
    if inbox.sending_paused:
        return Hold(HoldReason.INBOX_PAUSED, _bare(recipients))
    return None


def _external(inbox: Inbox, recipients: list[str]) -> list[str]:
    bases = {spec: split_address(spec)[0] or spec for spec in recipients}
    hosted = hosted_inboxes(set(bases.values()), columns=("organization_id", "email"))
    return [
        spec
        for spec, base in bases.items()
        if base not in hosted or hosted[base].organization_id != inbox.organization_id
    ]


def hold_for(inbox: Inbox, *, recipients: Sequence[str], api_key: Any = None) -> Hold | None:
    """Why this send must wait for approval, or None to send it (now or at its sendAt)."""
    paused = pause_hold(inbox, recipients)
    if paused:
        return paused
    if api_key is not None and api_key.require_approval:
        return Hold(HoldReason.KEY_REQUIRES_APPROVAL, _bare(recipients))
    approval = inbox.send_approval
    if approval == SendApproval.NEVER:
        return None
    bare = _bare(recipients)
    if approval == SendApproval.ALWAYS:
        return Hold(HoldReason.ALWAYS, bare)
    if approval == SendApproval.EXTERNAL:
        outside = _external(inbox, bare)
        return Hold(HoldReason.EXTERNAL, outside) if outside else None
    known = known_correspondents(inbox, bare)
    new = [spec for spec in bare if spec not in known]
    return Hold(HoldReason.FIRST_CONTACT, new) if new else None


@dataclass(frozen=True)
class Admission:
    """What becomes of a send at accept time: its status, why it is held, when it goes."""

    status: str
    hold: Hold | None
    send_at: datetime | None
    # first_contact found every recipient among the inbox's correspondents: nothing to remember.
    recipients_known: bool = False


def admit(
    inbox: Inbox,
    *,
    recipients: Sequence[str],
    api_key: Any = None,
    send_at: datetime | None = None,
) -> Admission:
    """Decided once, when the send is accepted. A held send keeps its sendAt: approved before
    then it waits for it, approved after it goes at once. The inbox's holdSeconds (an undo
    window for the sender) applies to sends that are not held; an approval is already the
    second look, so an approved message does not wait again."""
    hold = hold_for(inbox, recipients=recipients, api_key=api_key)
    if hold is not None:
        return Admission(Message.Status.PENDING_APPROVAL, hold, send_at)
    if send_at is None and inbox.hold_seconds:
        send_at = timezone.now() + timedelta(seconds=inbox.hold_seconds)
    if send_at is not None:
        return Admission(Message.Status.SCHEDULED, None, send_at)
    known = inbox.send_approval == SendApproval.FIRST_CONTACT
    return Admission(Message.Status.QUEUED, None, None, recipients_known=known)
