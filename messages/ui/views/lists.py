"""The staff side of the allow and block lists: the Blocked view (mail held back by a receive
block list, each with a Release button) and the Lists page (add and remove entries). The same
services as the API (messages.services.lists).

Who may do what: every member sees both pages, releases blocked mail and manages the receive
lists (the people reading the inboxes are the ones who meet spam and know a sender is fine);
send lists decide whom the organization may write to at all, so only owners change them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from inboxes.selectors import get_inbox, is_owner, list_inboxes
from messages.models import ListEntry
from messages.payloads import preview_of
from messages.services import lists
from messages.services.provenance import user_actor
from messages.ui.forms import read_form
from messages.ui.views.base import back, post_only, render_page, staff_page
from sendook.exceptions import SendookError

BLOCKED_PER_PAGE = 200
OWNERS_ONLY = "Only owners can change the send lists (they decide whom the organization writes to)."


def blocked_url(*_args: object, **_kwargs: object) -> str:
    return reverse("mail:blocked")


def lists_url(*_args: object, **_kwargs: object) -> str:
    return reverse("mail:lists")


def _is_owner(request: HttpRequest) -> bool:
    return is_owner(request.organization, request.user)  # type: ignore[attr-defined]


# --- Blocked ------------------------------------------------------------------------------------


@require_GET
@staff_page
def blocked_list(request: HttpRequest) -> HttpResponse:
    return _blocked_page(request)


def _blocked_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    rows = list(lists.list_blocked(organization)[:BLOCKED_PER_PAGE])
    items = [{"message": row, "preview": preview_of(row.text, row.html, 300)} for row in rows]
    context = {"items": items, "error": error, "view_blocked": True}
    return render_page(request, "mail/blocked.html", context, status=status)


@post_only(blocked_url)
@staff_page
def release(request: HttpRequest, message_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    try:
        message = lists.get_blocked(organization, message_id)
        lists.release_message(message, actor=user_actor(request.user))
    except SendookError as failure:
        return _blocked_page(request, error=failure.message, status=failure.status_code)
    return back(request, blocked_url())


# --- Lists --------------------------------------------------------------------------------------


@require_GET
@staff_page
def list_page(request: HttpRequest) -> HttpResponse:
    return _lists_page(request)


def _lists_page(
    request: HttpRequest,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    entries = list(lists.list_entries(organization).order_by("direction", "kind", "value", "id"))
    context = {
        "receive_entries": [e for e in entries if e.direction == ListEntry.Direction.RECEIVE],
        "send_entries": [e for e in entries if e.direction == ListEntry.Direction.SEND],
        "all_inboxes": list(list_inboxes(organization).order_by("email")),
        "is_owner": _is_owner(request),
        "error": error,
        "form": form or {"direction": "receive", "type": "block", "value": "", "inbox": ""},
        "view_lists": True,
    }
    return render_page(request, "mail/lists.html", context, status=status)


@post_only(lists_url)
@staff_page
def add(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = read_form(request, ("direction", "type", "value", "inbox"))
    if form["direction"] == ListEntry.Direction.SEND and not _is_owner(request):
        return _lists_page(request, error=OWNERS_ONLY, form=form, status=403)
    try:
        inbox = get_inbox(organization, form["inbox"]) if form["inbox"] else None
        lists.add_entry(
            organization,
            inbox=inbox,
            direction=form["direction"],
            kind=form["type"],
            value=form["value"],
            actor=user_actor(request.user),
        )
    except SendookError as failure:
        field = next(iter(failure.fields or {}), "")
        words = {"value": "Address or domain", "type": "Allow or block", "direction": "List"}
        message = f"{words[field]}: {failure.message}" if field in words else failure.message
        return _lists_page(request, error=message, form=form, status=failure.status_code)
    return back(request, lists_url())


@post_only(lists_url)
@staff_page
def remove(request: HttpRequest, entry_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    try:
        entry = lists.get_entry(organization, entry_id)
        if entry.direction == ListEntry.Direction.SEND and not _is_owner(request):
            return _lists_page(request, error=OWNERS_ONLY, status=403)
        lists.remove_entry(entry)
    except SendookError as failure:
        return _lists_page(request, error=failure.message, status=failure.status_code)
    return back(request, lists_url())
