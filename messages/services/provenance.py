"""Who did something to a message: the `createdBy`/`approvedBy`/`declinedBy` objects of the
API, stored on the message as they were at the time (a key renamed or revoked later, a user
who left, do not rewrite the record)."""

from __future__ import annotations

from typing import Any

Actor = dict[str, str]

SYSTEM: Actor = {"type": "system", "id": "sendook", "name": "Sendook"}


def api_key_actor(api_key: Any) -> Actor:
    return {"type": "api_key", "id": api_key.public_id, "name": api_key.name or api_key.prefix}


def user_actor(user: Any) -> Actor:
    name = user.get_full_name() or user.get_username()
    return {"type": "user", "id": str(user.pk), "name": name}


def inbound_actor(record: Any) -> Actor:
    """Mail that arrived: the raw record it came in (its source: ses_sns, smtp, local, …)."""
    return {"type": "inbound", "id": record.public_id, "name": record.source}


def actor_of_request(request: Any) -> Actor:
    """The API key of an API request, or the signed-in staff user of a UI request."""
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "key_hash"):
        return api_key_actor(api_key)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user_actor(user)
    return SYSTEM
