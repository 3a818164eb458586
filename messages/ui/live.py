"""Who is on the other end of the staff UI's live stream (GET /live/events, served by the
ASGI process's `stream_app(staff_stream_client)`): the signed-in member, from the session
cookie, in the organization that session has chosen, as the pages pick it (views/base.py).

The browser's EventSource sends the session cookie itself (same origin; the cookie is
SameSite=Lax, so another site's page cannot open the stream with it). The stream re-checks the
session at every heartbeat (`still_allowed`): logging out, switching organization or being
removed from the organization ends it.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie

from inboxes.selectors import member_of_user
from messages.ui.views.base import selected_organization
from sendook.events.stream import StreamClient
from sendook.events.stream.db import run_db
from sendook.exceptions import SendookError


class NotSignedIn(SendookError):
    status_code = 401
    code = "not_authenticated"
    message = "Log in to the staff UI to follow its live updates."


class NoOrganization(SendookError):
    status_code = 403
    code = "no_organization"
    message = "You are not a member of any organization."


async def staff_stream_client(scope: dict[str, Any]) -> StreamClient:
    """The ASGI scope's session -> the StreamClient of its member (401/403 SendookError)."""
    session_key = _session_key(scope)
    return await run_db(_client_for, session_key)


def _session_key(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"cookie":
            cookies = parse_cookie(value.decode("latin-1"))
            key = cookies.get(settings.SESSION_COOKIE_NAME, "")
            if key:
                return key
    return ""


def _member_for(session_key: str) -> tuple[Any, Any]:
    """(organization, membership) of the session, or the error saying why there is none."""
    if not session_key:
        raise NotSignedIn()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # django.contrib.auth's own check (the session's user, its password hash still current):
    # it needs only a `.session`.
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if not user.is_authenticated:
        raise NotSignedIn()
    _memberships, organization = selected_organization(user, session)
    member = member_of_user(organization, user) if organization is not None else None
    if organization is None or member is None:
        raise NoOrganization()
    return organization, member


def _client_for(session_key: str) -> StreamClient:
    organization, member = _member_for(session_key)

    def still_allowed() -> bool:
        # The same session, still signed in, still a member, still on this organization.
        try:
            now_organization, now_member = _member_for(session_key)
        except SendookError:
            return False
        return now_organization.pk == organization.pk and now_member.pk == member.pk

    return StreamClient(
        organization=organization,
        # A member's role limits which pages they may open, not which inboxes they see.
        inbox_ids=None,
        label=f"member {member.public_id}",
        still_allowed=still_allowed,
    )
