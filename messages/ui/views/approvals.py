"""The staff side of the approval queue: the Approvals page (each held message with its hold
reason, approve as written or edited, decline with a reason), undo of a scheduled send, and
the organization's pause switch for owners. The same services as the API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from inboxes.selectors import is_owner
from inboxes.supervision import set_organization_paused
from messages import selectors
from messages.models import Message
from messages.services import approvals
from messages.services.provenance import user_actor
from messages.ui.forms import read_form
from messages.ui.provenance import hold_text
from messages.ui.views.base import back, post_only, render_page, staff_page
from sendook.api import validate_no_control_chars
from sendook.exceptions import SendookError, ValidationFailed


def approvals_url(*_args: object, **_kwargs: object) -> str:
    return reverse("mail:approvals")


def _is_owner(request: HttpRequest) -> bool:
    return is_owner(request.organization, request.user)  # type: ignore[attr-defined]


@require_GET
@staff_page
def approval_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    held = list(selectors.list_pending_approvals(organization).order_by("id")[:200])
    items = [{"message": message, "why": hold_text(message)} for message in held]
    context = {
        "items": items,
        "is_owner": _is_owner(request),
        "error": error,
        "view_approvals": True,
    }
    return render_page(request, "mail/approvals.html", context, status=status)


def _held_message(request: HttpRequest, message_id: str) -> Message:
    return selectors.get_pending_approval(request.organization, message_id)  # type: ignore[attr-defined]


@post_only(approvals_url)
@staff_page
def decide(request: HttpRequest, message_id: str, decision: str) -> HttpResponse:
    """Approve (as written, or with the edited subject/text of the form) or decline."""
    by = user_actor(request.user)
    form = read_form(request, ("subject", "text", "reason"))
    try:
        message = _held_message(request, message_id)
        if decision == "approve":
            validate_subject(form["subject"])
            approvals.approve_message(
                message,
                by=by,
                subject=form["subject"] if "subject" in request.POST else None,
                text=form["text"] if "text" in request.POST else None,
            )
        else:
            validate_subject(form["reason"])
            approvals.reject_message(message, by=by, reason=form["reason"][:1000])
    except SendookError as failure:
        return _page(request, error=failure.message, status=failure.status_code)
    return back(request, approvals_url())


def validate_subject(value: str) -> None:
    try:
        validate_no_control_chars(value)
    except ValidationError:
        raise ValidationFailed.for_field(
            "subject", "The subject or reason must be one line (no line breaks)."
        ) from None


@post_only(approvals_url)
@staff_page
def undo(request: HttpRequest, message_id: str) -> HttpResponse:
    """Cancel a scheduled (or held) send from its thread: the undo of the hold window."""
    organization = request.organization  # type: ignore[attr-defined]
    message = selectors.get_outbound_message(organization, message_id)
    target = reverse("mail:thread", args=[message.thread.public_id])
    try:
        approvals.cancel_message(message, by=user_actor(request.user))
    except SendookError:
        pass  # already on its way: the thread shows its status
    return back(request, f"{target}#{message.public_id}")


@post_only(approvals_url)
@staff_page
def pause(request: HttpRequest) -> HttpResponse:
    if not _is_owner(request):
        return _page(request, error="Only owners can pause or resume sending.", status=403)
    paused = request.POST.get("paused") == "1"
    set_organization_paused(request.organization, paused=paused)  # type: ignore[attr-defined]
    return back(request, approvals_url())
