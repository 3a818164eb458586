"""The supervision settings of an organization and its inboxes: the send policy and the pause
switches (the send path reads them in messages.services.policies). Changing one is an event;
un-pausing releases nothing by itself (held messages stay in the approval queue)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inboxes.models import Inbox, Organization
from inboxes.services import _inbox_payload
from sendook.events.models import EventType
from sendook.events.services import record_event


def _pause_event(organization: Organization, paused: bool, **payload: Any) -> None:
    record_event(
        organization,
        event_type=EventType.SENDING_PAUSED if paused else EventType.SENDING_RESUMED,
        payload={"sendingPaused": paused, **payload},
        inbox_id=payload.get("inboxId", ""),
    )


@transaction.atomic
def update_inbox_supervision(
    inbox: Inbox,
    *,
    approval: str | None = None,
    hold_seconds: int | None = None,
    sending_paused: bool | None = None,
) -> Inbox:
    changed = []
    for name, value in (
        ("send_approval", approval),
        ("hold_seconds", hold_seconds),
        ("sending_paused", sending_paused),
    ):
        if value is not None and getattr(inbox, name) != value:
            setattr(inbox, name, value)
            changed.append(name)
    if not changed:
        return inbox
    inbox.save(update_fields=[*changed, "updated_at"])
    record_event(
        inbox.organization,
        event_type=EventType.INBOX_UPDATED,
        payload=_inbox_payload(inbox),
        inbox_id=inbox.public_id,
    )
    if "sending_paused" in changed:
        _pause_event(inbox.organization, inbox.sending_paused, inboxId=inbox.public_id)
    return inbox


@transaction.atomic
def set_organization_paused(organization: Organization, *, paused: bool) -> Organization:
    if organization.sending_paused != paused:
        organization.sending_paused = paused
        organization.save(update_fields=["sending_paused", "updated_at"])
        _pause_event(organization, paused, organizationId=organization.public_id)
    return organization
