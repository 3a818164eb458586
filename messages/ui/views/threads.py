"""The inbox list and a page of threads (of one inbox, or of all of them) in one of the
helpdesk views, with the bulk actions bar."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from inboxes.selectors import get_inbox
from messages import selectors
from messages.ui import helpdesk
from messages.ui.forms import BULK_ACTIONS, clean_label
from messages.ui.views.base import render_page, staff_page


@require_GET
@staff_page
def home(request: HttpRequest) -> HttpResponse:
    return render_page(request, "mail/inboxes.html", {})


@require_GET
@staff_page
def thread_list(request: HttpRequest, inbox_id: str | None = None) -> HttpResponse:
    return render_thread_list(request, inbox_id=inbox_id, params=request.GET)


def render_thread_list(
    request: HttpRequest,
    *,
    inbox_id: str | None,
    params: Any,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """A page of a view's threads; `params` are the list's query (view, label, page), from the
    URL or, when a bulk action failed, from the form that was on that page."""
    organization = request.organization  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    inbox = get_inbox(organization, inbox_id) if inbox_id else None
    view, label = list_query(params)
    page = _page_of(params)
    rows = helpdesk.threads_in_view(
        organization, member=member, view=view, inbox=inbox, label=label
    )
    threads, has_next = selectors.page_of(rows, page)
    # The total for "1-50 of 312": one count on the same index the page reads.
    total = rows.count() if (threads and (has_next or page > 1)) else len(threads)
    first = (page - 1) * selectors.THREADS_PER_PAGE + 1
    query = {"view": view.key, **({"label": label} if label else {})}
    # Where the live updates fetch one row of this list (views/fragments.py): the same view.
    row_query = {**query, **({"inbox": inbox.public_id} if inbox else {})}
    live_rows = reverse("mail:live-row", args=["THREAD"]) + "?" + urlencode(row_query)
    context = {
        "inbox": inbox,
        "list_inbox": inbox,
        "threads": helpdesk.with_senders(threads),
        "page": page,
        "has_next": has_next,
        "total": total,
        "first": first,
        "last": first + len(threads) - 1,
        "view": view,
        "label": label,
        "query": urlencode(query),
        "live_rows": live_rows,
        "view_all": inbox is None,
        "bulk_actions": BULK_ACTIONS,
        # What the last bulk action did (views/bulk.py redirects here after it).
        "bulk_done": request.session.pop("sendook_bulk_done", None),
        **extra,
    }
    return render_page(request, "mail/threads.html", context, status=status)


def list_query(params: Any) -> tuple[helpdesk.View, str]:
    """The list's view and label from its query (an unknown view is the default, a bad label
    none), for the page and for one of its rows (views/fragments.py)."""
    view = helpdesk.view_named(params.get("view"))
    try:
        label = clean_label(params.get("label", "")) if params.get("label", "").strip() else ""
    except ValueError:
        label = ""
    return view, label


def _page_of(params: Any) -> int:
    try:
        return max(1, min(int(params.get("page", "1")), 10_000))
    except ValueError:
        return 1
