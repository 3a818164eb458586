"""The thread list's bulk actions: one form POST for the checked threads (or the whole page),
applied all-or-nothing: an id of another organization, or one that does not exist, is a form
error naming it and nothing changes."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from messages import selectors
from messages.services import threads as thread_service
from messages.services import triage
from messages.services.provenance import user_actor
from messages.ui import helpdesk
from messages.ui.forms import BULK_ACTIONS, MAX_BULK_THREADS, clean_label
from messages.ui.views.base import post_only, staff_page
from messages.ui.views.threads import render_thread_list
from sendook.exceptions import SendookError

ACTION_NAMES = dict(BULK_ACTIONS)


def _list_url(**_kwargs: object) -> str:
    return reverse("mail:all-threads")


class BulkError(Exception):
    pass


@post_only(_list_url)
@staff_page
def bulk(request: HttpRequest) -> HttpResponse:
    inbox_id = request.POST.get("inbox") or None
    ids = list(dict.fromkeys(request.POST.getlist("ids")))
    if request.POST.get("select_all") == "1":
        ids = list(dict.fromkeys([*ids, *request.POST.getlist("page_ids")]))
    action = request.POST.get("action", "")
    form = {"action": action, "bulk_label": request.POST.get("bulk_label", "")}
    try:
        done = _apply(request, ids, action, form["bulk_label"])
    except (BulkError, SendookError) as error:
        message = error.message if isinstance(error, SendookError) else str(error)
        return render_thread_list(
            request,
            inbox_id=inbox_id,
            params=request.POST,
            status=400,
            bulk_error=message,
            bulk_form=form,
            bulk_selected=set(ids),
        )
    target = reverse("mail:inbox", args=[inbox_id]) if inbox_id else reverse("mail:all-threads")
    request.session["sendook_bulk_done"] = done
    return redirect(f"{target}?view={helpdesk.view_named(request.POST.get('view')).key}")


def _apply(request: HttpRequest, ids: list[str], action: str, label: str) -> str:
    organization = request.organization  # type: ignore[attr-defined]
    if action not in ACTION_NAMES:
        raise BulkError(
            f"Bulk action: {action or '(none)'} is not an action; pick one from the list."
        )
    if not ids:
        raise BulkError("Select at least one conversation for the bulk action.")
    if len(ids) > MAX_BULK_THREADS:
        raise BulkError(
            f"{len(ids)} conversations are too many for one bulk action (at most {MAX_BULK_THREADS})."
        )
    found = {
        thread.public_id: thread
        for thread in selectors.list_threads(organization).filter(public_id__in=ids)
    }
    missing = [thread_id for thread_id in ids if thread_id not in found]
    if missing:
        # Another organization's thread answers exactly like one that does not exist.
        raise BulkError(
            f"No conversation {', '.join(missing[:5])} in this organization: nothing was changed."
        )
    actor = user_actor(request.user)
    count = f"{len(ids)} conversation{'s' if len(ids) != 1 else ''}"
    kind, _, value = action.partition(":")
    if kind == "status":
        triage.update_threads(organization, ids, actor=actor, status=value)
        return f"{count}: status {value}."
    if kind == "assign":
        assignee = request.member if value == "me" else None  # type: ignore[attr-defined]
        triage.update_threads(organization, ids, actor=actor, assignee=assignee)
        return f"{count} assigned to you." if assignee else f"{count} unassigned."
    if kind == "label":
        try:
            name = clean_label(label)
        except ValueError as error:
            raise BulkError(f"Label: {error}") from None
        triage.update_threads(organization, ids, actor=actor, add_labels=[name])
        helpdesk.forget_labels(organization)
        return f"{count}: label {name} added."
    read = action == "read"
    with transaction.atomic():
        for thread_id in ids:
            thread_service.mark_thread(found[thread_id], read=read)
    return f"{count} marked {'read' if read else 'unread'}."
