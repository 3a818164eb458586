"""Scopes: what an API key may do, checked once, here, for every /v1 endpoint.

Each viewset says which scope its actions need, in one declarative place:
`read_scope` (GET, HEAD, OPTIONS), `write_scope` (every other method) and `scopes`, a map
from action name to scope that overrides both (`{"send": "messages:send"}`). An action that
resolves to no scope, or to one not in SCOPES, is refused to every key (fail closed), and
sendook/tests/api/test_scopes.py walks every /v1 route so that such an endpoint never ships.

The key's scopes come with it from the one authentication query (`ApiClient.scopes`): the
check costs no query.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from sendook.exceptions import SendookError

SCOPES = (
    "inboxes:read",
    "inboxes:write",
    "messages:read",
    "messages:send",
    "drafts:write",
    "threads:write",
    "approvals:write",
    "webhooks:write",
    "domains:write",
    "keys:write",
    "events:read",
)


class Forbidden(SendookError):
    status_code = 403
    code = "forbidden"
    message = "This API key may not do this"


class MissingScope(Forbidden):
    def __init__(self, scope: str) -> None:
        super().__init__(f"This API key needs scope {scope}", extra={"requiredScope": scope})


class UndeclaredScope(Forbidden):
    message = "This endpoint declares no scope, so no API key may call it"


def required_scope(view: Any, method: str) -> str | None:
    """The scope `view` (its `action` set) needs for `method`; None when it declares none."""
    declared = getattr(view, "scopes", None) or {}
    action = getattr(view, "action", None)
    if action in declared:
        return declared[action]
    if method.upper() in SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class ScopePermission(BasePermission):
    """The key must hold the scope the action declares (anything else: 403 naming it)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", "") is None:
            return True  # a viewset with no handler for this method: the 405 follows
        scope = required_scope(view, request.method or "GET")
        if scope not in SCOPES:
            raise UndeclaredScope()
        if scope not in getattr(request.user, "scopes", ()):
            raise MissingScope(scope)
        return True
