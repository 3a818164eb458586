"""The thread page's work forms: assign (to me, to someone, to nobody), status, snooze and
notes. They POST here and the services decide (messages/services/triage.py, notes.py) with the
signed-in person as the actor; then the thread page again (post/redirect/get), or the thread
page with the form's error beside the form."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from inboxes.models import Membership
from messages import selectors
from messages.models import Thread
from messages.services import notes as note_service
from messages.services import triage
from messages.services.provenance import user_actor
from messages.ui import helpdesk
from messages.ui.forms import THREAD_STATUSES, parse_assignee, parse_snooze
from messages.ui.views.base import post_only, staff_page, thread_url
from messages.ui.views.thread import thread_page
from sendook.exceptions import SendookError


def _failed(request: HttpRequest, thread: Thread, status: int, **errors: Any) -> HttpResponse:
    return thread_page(request, thread, status=status, errors=errors)


@post_only(thread_url)
@staff_page
def assign(request: HttpRequest, thread_id: str) -> HttpResponse:
    """ "Assign to me", or the Assignee select. The form carries the assignee the page showed
    (`expected_assignee`): if someone took the thread meanwhile, nothing changes and the
    person is told who has it."""
    organization = request.organization  # type: ignore[attr-defined]
    member: Membership = request.member  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    value = request.POST.get("assignee", "")
    try:
        wanted = None if value == "me" else parse_assignee(value)
        expected = parse_assignee(request.POST.get("expected_assignee", ""))
    except ValueError as error:
        return _failed(request, thread, 400, assign_error=str(error))
    try:
        assignee = member if value == "me" else triage.resolve_assignee(organization, wanted)
        # The service compares `expected` with the assignee under the thread's row lock, so
        # of two people assigning at the same moment exactly one wins.
        # (A POST without the field, not from our page, asks for no precondition.)
        precondition = (
            {"expected_assignee": expected} if "expected_assignee" in request.POST else {}
        )
        triage.update_thread(
            thread, actor=user_actor(request.user), assignee=assignee, **precondition
        )
    except SendookError as error:
        fresh = selectors.get_thread(organization, thread_id)
        if error.status_code == 409:
            return _failed(request, fresh, 409, assign_error=_taken_meanwhile(fresh))
        return _failed(request, fresh, error.status_code, assign_error=f"Assignee: {error.message}")
    return redirect(thread_url(thread.public_id))


def _taken_meanwhile(thread: Thread) -> str:
    """What the person is told when the thread's assignee changed after their page loaded."""
    now = helpdesk.assignee_of(thread)
    if now is None:
        return (
            "Someone unassigned this conversation meanwhile, so nothing was changed: "
            "it is unassigned now. Assign it again if you still want to."
        )
    who = now["name"] + (" (an API key)" if now["type"] == "api_key" else "")
    return (
        f"{who} took this conversation meanwhile, so nothing was changed: "
        f"it is assigned to {who} now."
    )


@post_only(thread_url)
@staff_page
def set_status(request: HttpRequest, thread_id: str) -> HttpResponse:
    """The Status select, "Close", and "Snooze until"."""
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    changes: dict[str, Any] = {}
    if request.POST.get("snooze") == "1":
        try:
            changes = {
                "status": "snoozed",
                "snoozed_until": parse_snooze(
                    request.POST.get("snoozed_until", ""),
                    request.POST.get("tz", ""),
                    now=timezone.now(),
                ),
            }
        except ValueError as error:
            return _failed(request, thread, 400, snooze_error=str(error))
    else:
        status = request.POST.get("status", "")
        if status not in dict(THREAD_STATUSES):
            shown = status or "(none)"
            return _failed(
                request,
                thread,
                400,
                status_error=f"Status: {shown} is not a status (open, pending or closed).",
            )
        changes = {"status": status}
    try:
        triage.update_thread(thread, actor=user_actor(request.user), **changes)
    except SendookError as error:
        field = "snooze_error" if "snoozed_until" in changes else "status_error"
        return _failed(request, thread, error.status_code, **{field: error.message})
    return redirect(thread_url(thread.public_id))


@post_only(thread_url)
@staff_page
def add_note(request: HttpRequest, thread_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    text = request.POST.get("text", "")
    if not text.strip():
        return _failed(
            request,
            thread,
            400,
            note_error="Note: it is empty; write something to add.",
            note_text=text,
        )
    try:
        note = note_service.add_note(thread, actor=user_actor(request.user), text=text)
    except SendookError as error:
        return _failed(
            request, thread, error.status_code, note_error=f"Note: {error.message}", note_text=text
        )
    return redirect(f"{thread_url(thread.public_id)}#{note.public_id}")
