"""Search results, in the search language the API speaks (messages/search/)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from inboxes.selectors import get_inbox
from messages import selectors
from messages.search.query import InvalidSearchQuery, parse_query
from messages.ui import rendering
from messages.ui.forms import page_number
from messages.ui.views.base import render_page, staff_page


def _highlight_words(query: str) -> list[str]:
    try:
        parsed = parse_query(query)
    except InvalidSearchQuery:
        return []
    words = [term.text for term in parsed.terms if not term.negated]
    words += [
        op.value
        for op in parsed.operators
        if op.name in ("from", "to", "subject") and not op.negated
    ]
    return words


@require_GET
@staff_page
def search(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    query = request.GET.get("q", "").strip()
    inbox_id = request.GET.get("inbox") or None
    inbox = get_inbox(organization, inbox_id) if inbox_id else None
    page = page_number(request)
    context: dict[str, Any] = {"query": query, "inbox": inbox, "page": page, "results": []}
    if not query:
        return render_page(request, "mail/search.html", context)
    try:
        messages, has_next = selectors.search_page(organization, query, inbox=inbox, page=page)
    except InvalidSearchQuery as error:
        context["error"] = error.message
        return render_page(request, "mail/search.html", context, status=400)
    words = _highlight_words(query)
    context["results"] = [
        {
            "message": message,
            "subject": rendering.highlight(message.subject or "(no subject)", words),
            "sender": rendering.highlight(message.from_name or message.from_email, words),
            "snippet": rendering.highlight(rendering.snippet(message.text, words), words),
        }
        for message in messages
    ]
    context["has_next"] = has_next
    return render_page(request, "mail/search.html", context)
