"""The inbox list and a page of threads (of one inbox, or of all of them)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from inboxes.selectors import get_inbox
from messages import selectors
from messages.ui.forms import page_number
from messages.ui.views.base import render_page, staff_page


@require_GET
@staff_page
def home(request: HttpRequest) -> HttpResponse:
    return render_page(request, "mail/inboxes.html", {})


@require_GET
@staff_page
def thread_list(request: HttpRequest, inbox_id: str | None = None) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    inbox = get_inbox(organization, inbox_id) if inbox_id else None
    page = page_number(request)
    threads, has_next = selectors.thread_page(organization, inbox=inbox, page=page)
    return render_page(
        request,
        "mail/threads.html",
        {
            "inbox": inbox,
            "threads": threads,
            "page": page,
            "has_next": has_next,
            "view_all": inbox is None,
        },
    )
