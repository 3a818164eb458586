"""Drafts in the staff UI: the Drafts page (the organization's drafts, newest first) and a
draft's own page, the compose form filled in from it, which saves the edits, sends the draft
(through the same send path, budget and form idempotency as every staff send) or deletes it.
An agent drafts; a person finishes and sends."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from inboxes.selectors import get_inbox
from messages import selectors
from messages.models import Message
from messages.services import drafts
from messages.ui import sending
from messages.ui.forms import keep_draft, read_form, take_draft
from messages.ui.provenance import provenance_text
from messages.ui.views.base import render_page, staff_page
from sendook.api import error_body, json_error
from sendook.exceptions import SendookError

DRAFT_FIELDS = ("to", "cc", "subject", "text")
DRAFTS_PER_PAGE = 200


def _sent_url(message: Message) -> str:
    return f"{reverse('mail:thread', args=[message.thread.public_id])}#{message.public_id}"


@require_GET
@staff_page
def draft_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    rows = selectors.list_drafts(organization).order_by("-id")[:DRAFTS_PER_PAGE]
    items = [{"message": draft, "provenance": provenance_text(draft)} for draft in rows]
    return render_page(request, "mail/drafts.html", {"items": items, "view_drafts": True})


def _form_of(draft: Message) -> dict[str, str]:
    return {
        "to": ", ".join(draft.to),
        "cc": ", ".join(draft.cc),
        "subject": draft.subject,
        "text": draft.text,
    }


def _page(
    request: HttpRequest,
    draft: Message,
    form: dict[str, str],
    *,
    key: str = "",
    error: str = "",
    notice: str = "",
    kept_notice: str = "",
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "draft": draft,
        "form": form,
        "form_key": key or sending.new_form_key(),
        "error": error,
        "notice": notice,
        "kept_notice": kept_notice,
        "provenance": provenance_text(draft),
        "has_html": bool(draft.html),
        "view_drafts": True,
        "inbox": draft.inbox,
    }
    return render_page(request, "mail/draft.html", context, status=status)


@require_http_methods(["GET", "POST"])
def draft_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    """A draft's page. Edits posted after the session expired are kept across the login and
    shown again on the draft's page (what was typed is not lost, nothing is saved unseen)."""
    if request.method == "POST" and not request.user.is_authenticated:
        page = reverse("mail:draft", args=[message_id])
        keep_draft(request, page, read_form(request, DRAFT_FIELDS))
        return redirect_to_login(page)
    return _draft_detail(request, message_id)


@staff_page
def _draft_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    # Any outbound message of the organization: a draft sent meanwhile (by its agent, by a
    # colleague, or by this very form submitted twice) leads to where it went.
    message = selectors.get_outbound_message(organization, message_id)
    if request.method == "GET":
        if message.status != Message.Status.DRAFT:
            return redirect(_sent_url(message))
        kept = take_draft(request, request.path)
        if kept is not None:
            notice = (
                "You were signed out before your edits were saved: they are below, not saved yet."
            )
            return _page(request, message, kept, kept_notice=notice)
        return _page(request, message, _form_of(message), notice=request.GET.get("saved", ""))
    form = read_form(request, DRAFT_FIELDS)
    key = request.POST.get("idempotency_key", "")
    action = request.POST.get("action", "save")
    try:
        if action == "send":
            send = sending.send_draft(message, form, by=request.user)
            fingerprint = {"action": "draft", "draft": message.public_id, **form}
            sent = sending.send_once(request, organization, key, fingerprint, send)
            return redirect(_sent_url(sent))
        if action == "delete":
            drafts.delete_draft(message)
            return redirect("mail:drafts")
        sending.save_draft(message, form)
    except SendookError as error:
        return _page(request, message, form, key=key, error=error.message, status=error.status_code)
    return redirect(f"{reverse('mail:draft', args=[message.public_id])}?saved=1")


# What an autosave posts: the form's boxes, its draft once made, and what it answers.
AUTOSAVE_FIELDS = ("draft", "parent", "inbox", "to", "cc", "bcc", "subject", "text")


def _draft_json(draft: Message) -> dict[str, str]:
    return {
        "draft": draft.public_id,
        "to": ", ".join(draft.to),
        "cc": ", ".join(draft.cc),
        "bcc": ", ".join(draft.bcc),
        "subject": draft.subject,
        "text": draft.text,
        "savedAt": draft.updated_at.isoformat(),
    }


@require_http_methods(["GET", "POST"])
def autosave(request: HttpRequest) -> HttpResponse:
    """The reply and compose forms' autosave (app.js, every few seconds of typing): POST keeps
    the boxes as the person's own draft; GET ?parent= gives back their newest reply draft in
    that message's thread. Signed out, it answers 401 JSON naming the login page (the script
    keeps the text in the browser and says so): never a redirect to a login form."""
    if not request.user.is_authenticated:
        page = request.POST.get("page") or request.GET.get("page") or reverse("mail:home")
        if not url_has_allowed_host_and_scheme(page, {request.get_host()}, request.is_secure()):
            page = reverse("mail:home")
        body = error_body("You are signed out; log in again.", "signed_out", None)
        login = f"{reverse('mail:login')}?{urlencode({'next': page})}"
        return JsonResponse({**body, "login": login}, status=401)
    return _autosave(request)


@staff_page
def _autosave(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    source = request.POST if request.method == "POST" else request.GET
    form = {name: source.get(name, "") for name in AUTOSAVE_FIELDS}
    parent = None
    if request.GET.get("thread"):  # a reply: the message it answers, in that thread
        thread = selectors.get_thread(organization, request.GET["thread"])
        parent = selectors.get_thread_message(thread, form["parent"])
    if request.method == "GET":
        if parent is None:
            return json_error("Name the message replied to (parent).", "validation_error", 400)
        draft = sending.latest_autosave(organization, parent, by=request.user)
        return JsonResponse(_draft_json(draft) if draft else {})
    if sending.form_was_sent(organization, request.POST.get("idempotency_key", "")):
        return json_error("This form was sent; nothing to keep.", "form_sent", 409)
    inbox = None if parent is not None else get_inbox(organization, form["inbox"])
    try:
        draft = sending.autosave(organization, form, by=request.user, inbox=inbox, parent=parent)
    except SendookError as error:
        return json_error(error.message, error.code, error.status_code)
    return JsonResponse(_draft_json(draft))
