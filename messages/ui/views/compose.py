"""Writing a new message from one of the organization's inboxes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inboxes.selectors import get_inbox
from messages import selectors
from messages.ui import reply_form, sending
from messages.ui.forms import COMPOSE_FIELDS, keep_draft, read_form, take_draft
from messages.ui.views.base import render_page, staff_page
from sendook.exceptions import SendookError


@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not request.user.is_authenticated:
        page = reverse("mail:compose")
        keep_draft(request, page, read_form(request, COMPOSE_FIELDS))
        return redirect_to_login(page)
    return _compose(request)


@staff_page
def _compose(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    boxes = selectors.list_inboxes_with_unread(organization)
    if request.method == "POST":
        form = read_form(request, COMPOSE_FIELDS)
        key = request.POST.get("idempotency_key", "")
        # Outside the try: another organization's inbox is a 404, not a form error.
        inbox = get_inbox(organization, form["inbox"])
        try:
            if request.POST.get("action") == "save_draft":
                draft = sending.save_compose_draft(organization, inbox, form, by=request.user)
                return redirect("mail:draft", message_id=draft.public_id)
            files = reply_form.uploaded_files(request)
            send = sending.compose(organization, inbox, form, by=request.user, attachments=files)
            fingerprint = {"action": "compose", **form, "files": reply_form.file_fingerprint(files)}
            message = sending.send_once(request, organization, key, fingerprint, send)
        except SendookError as error:
            context: dict[str, Any] = {
                "form": form,
                "form_key": key,
                "error": error.message,
                "from_inboxes": boxes,
                "lost_files": [upload.name for upload in request.FILES.getlist("attachments")],
                **reply_form.limits(),
            }
            return render_page(request, "mail/compose.html", context, status=error.status_code)
        sending.discard_autosaved(organization, form.get("draft", ""), by=request.user)
        target = reverse("mail:thread", args=[message.thread.public_id])
        return redirect(f"{target}#{message.public_id}")
    draft = take_draft(request, reverse("mail:compose"))
    form = draft or {"inbox": request.GET.get("inbox", "")}
    context = {
        "form": form,
        "form_key": sending.new_form_key(),
        "from_inboxes": boxes,
        "draft_kept": draft is not None,
        **reply_form.limits(),
    }
    return render_page(request, "mail/compose.html", context)
