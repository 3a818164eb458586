"""Roles in the staff UI: members work threads; owners also manage keys, domains, webhooks and
members. Owner pages answer a member with the styled 403 page, and the layout shows owner-only
links to owners only (the `is_owner` of every template's context)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from inboxes.selectors import is_owner
from messages.ui.views.base import staff_page


def owner_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A staff page for the organization's owners; anyone else gets 403."""

    @staff_page
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_owner(request.organization, request.user):  # type: ignore[attr-defined]
            raise PermissionDenied("Only the organization's owners can open this page.")
        return view(request, *args, **kwargs)

    return wrapper


def roles(request: HttpRequest) -> dict[str, Any]:
    """Template context: whether the signed-in person owns the page's organization (asked only
    when a template looks)."""

    def owner() -> bool:
        organization = getattr(request, "organization", None)
        user = getattr(request, "user", None)
        if organization is None or user is None or not user.is_authenticated:
            return False
        return is_owner(organization, user)

    return {"is_owner": SimpleLazyObject(owner)}
