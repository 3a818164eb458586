"""The pieces of pages the live updates (static/mail/live.js) fetch when the stream says
something changed: one row of a thread list, one message of a thread page, the sidebar's
counts. Each renders the same template, through the same selectors, as the page it updates;
another organization's thread or message is a 404 like its page.

And /live/events itself when this process is not the ASGI one (gunicorn sendook.wsgi): a 503
JSON saying where the stream is served, which the script takes quietly (no live updates)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from inboxes.selectors import get_inbox
from messages import selectors
from messages.services import threads as thread_service
from messages.ui import helpdesk
from messages.ui.views.base import staff_page
from messages.ui.views.thread import present_message
from messages.ui.views.threads import list_query
from sendook.api.errors import error_json
from sendook.exceptions import ServedByAsgi


@require_GET
@staff_page
def thread_row(request: HttpRequest, thread_id: str) -> HttpResponse:
    """The thread's row as the list of `?view=&label=&inbox=` shows it; 204 when the thread is
    not (or no longer) in that list, so the script takes its row out."""
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    inbox_id = request.GET.get("inbox", "")
    inbox = get_inbox(organization, inbox_id) if inbox_id else None
    view, label = list_query(request.GET)
    rows = helpdesk.threads_in_view(
        organization,
        member=request.member,  # type: ignore[attr-defined]
        view=view,
        inbox=inbox,
        label=label,
    )
    found = list(rows.filter(pk=thread.pk)[:1])
    if not found:
        return HttpResponse(status=204)
    context = {"thread": helpdesk.with_senders(found)[0], "inbox": inbox}
    return render(request, "mail/_thread_row.html", context)


@require_GET
@staff_page
def thread_message(request: HttpRequest, thread_id: str, message_id: str) -> HttpResponse:
    """A message of the thread as its page shows it (not folded: it is the newest). With
    `?read=1` (the page is open in front of the person) the thread is marked read, as opening
    the page does."""
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    message = selectors.get_thread_message(thread, message_id)
    if request.GET.get("read") == "1":
        thread_service.mark_thread(thread, read=True)
    context = {
        "item": present_message(request, message, remote_images=False),
        "thread": thread,
        # The undo form goes back to the thread page, not to this fragment.
        "page_path": reverse("mail:thread", args=[thread.public_id]),
    }
    return render(request, "mail/_thread_item.html", context)


@require_GET
@staff_page
def counts(request: HttpRequest) -> JsonResponse:
    """The sidebar's numbers: unread threads per inbox (and their sum, for the tab title), the
    helpdesk views' counts (of `?inbox=` on that inbox's list, else across inboxes), waiting
    approvals and drafts."""
    organization = request.organization  # type: ignore[attr-defined]
    inbox_id = request.GET.get("inbox", "")
    inbox = get_inbox(organization, inbox_id) if inbox_id else None
    inboxes = selectors.list_inboxes_with_unread(organization)
    views = helpdesk.view_counts(
        organization,
        member=request.member,  # type: ignore[attr-defined]
        inbox=inbox,
    )
    unread = {box.public_id: box.unread_threads for box in inboxes}  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "unread": sum(unread.values()),
            "inboxes": unread,
            "views": views,
            "approvals": selectors.list_pending_approvals(organization).count(),
            "drafts": selectors.count_drafts(organization),
        }
    )


def served_by_asgi(request: HttpRequest) -> JsonResponse:
    """/live/events reached the WSGI process: the stream lives in the ASGI one."""
    response = error_json(ServedByAsgi("/live/events"))
    # Every staff page asks once (live.js): on a WSGI-only deployment that is not an error
    # worth a log line per page view (django.utils.log.log_response skips a logged response).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
