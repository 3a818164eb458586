"""Who a thread may be assigned to: a member of its organization or one of its live API keys
(that sees the thread's inbox), given as a {type, id} reference or as the model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inboxes.models import ApiKey, Membership, Organization
from messages.exceptions import InvalidAssignee
from messages.models import Thread

Assignee = Membership | ApiKey | None


# --- assignees --------------------------------------------------------------------------------


def resolve_assignee(
    organization: Organization, ref: Mapping[str, Any] | None, *, field: str = "assignee"
) -> Assignee:
    """`{"type": "user"|"api_key", "id"}` (or None: nobody) as the organization's Membership or
    live ApiKey. Another organization's member or key, an unknown id and a revoked key are all
    `invalid_assignee` (400) naming `field`."""
    if ref is None:
        return None
    if not isinstance(ref, Mapping):
        raise InvalidAssignee('Must be {"type": "user"|"api_key", "id": "…"} or null.', field=field)
    kind, ident = ref.get("type"), ref.get("id")
    if kind not in ("user", "api_key"):
        raise InvalidAssignee(f"type must be user or api_key, not {kind!r}.", field=field)
    if not isinstance(ident, str) or not ident:
        raise InvalidAssignee("id must be a member id (user_…) or a key id (key_…).", field=field)
    if kind == "user":
        member = (
            Membership.objects.select_related("user")
            .filter(organization=organization, public_id=ident)
            .first()
        )
        if member is None:
            raise InvalidAssignee(f"{ident} is not a member of this organization.", field=field)
        return member
    key = ApiKey.objects.filter(organization=organization, public_id=ident).first()
    if key is None:
        raise InvalidAssignee(f"{ident} is not an API key of this organization.", field=field)
    if key.revoked_at is not None:
        raise InvalidAssignee(f"API key {ident} is revoked.", field=field)
    return key


def identity_of(assignee: Any) -> tuple[str, str] | None:
    """What two assignees are compared by: a Membership, an ApiKey or a {type, id} mapping."""
    if assignee is None:
        return None
    if isinstance(assignee, Mapping):
        return (str(assignee.get("type")), str(assignee.get("id")))
    if isinstance(assignee, ApiKey):
        return ("api_key", assignee.public_id)
    if isinstance(assignee, Membership):
        return ("user", assignee.public_id)
    raise TypeError(f"not an assignee: {assignee!r}")


def check_assignee(thread: Thread, assignee: Assignee) -> None:
    """An assignee given as a model (the staff UI resolves its own) is held to the same rules
    as an id: the thread's organization, a live key, a key that sees the thread's inbox."""
    if assignee is None:
        return
    if assignee.organization_id != thread.organization_id:
        raise InvalidAssignee("Not a member or an API key of this organization.")
    if isinstance(assignee, ApiKey):
        if assignee.revoked_at is not None:
            raise InvalidAssignee(f"API key {assignee.public_id} is revoked.")
        if assignee.inbox_ids is not None and thread.inbox.public_id not in assignee.inbox_ids:
            raise InvalidAssignee(
                f"API key {assignee.public_id} cannot see inbox {thread.inbox.public_id}."
            )
