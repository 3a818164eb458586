"""A thread's page: its messages, and the reply, forward, label and read-mark forms on it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from messages import selectors
from messages.exceptions import ThreadChanged
from messages.models import Message, Thread
from messages.services import threads
from messages.ui import helpdesk, rendering, reply_form, sending
from messages.ui.forms import SEND_FORM_FIELDS, clean_label, keep_draft, read_form, take_draft
from messages.ui.provenance import provenance_text
from messages.ui.views import work
from messages.ui.views.attachments import INLINE_IMAGE_TYPES, attachment_link
from messages.ui.views.base import back, page_csp, post_only, render_page, staff_page, thread_url
from sendook.exceptions import SendookError


def present_message(
    request: HttpRequest, message: Message, *, remote_images: bool
) -> dict[str, Any]:
    attachments = list(message.attachments.all())
    by_cid = {a.content_id.strip("<>"): a for a in attachments if a.content_id}
    used_cids: set[str] = set()

    def resolve_cid(content_id: str) -> str | None:
        attachment = by_cid.get(content_id)
        if attachment is None or attachment.content_type.lower() not in INLINE_IMAGE_TYPES:
            return None
        used_cids.add(content_id)
        return attachment_link(request, attachment)

    item: dict[str, Any] = {
        "kind": "message",
        "at": message.created_at,
        "message": message,
        "provenance": provenance_text(message),
    }
    if message.send_at and message.status == Message.Status.SCHEDULED:
        # The undo notice's countdown (the page works without JavaScript: it says the figure).
        item["seconds_left"] = max(0, int((message.send_at - timezone.now()).total_seconds()))
    if message.html.strip():
        origin = request.build_absolute_uri("/").rstrip("/")
        rendered = rendering.render_html(
            message.html, origin=origin, resolve_cid=resolve_cid, remote_images=remote_images
        )
        item["srcdoc"] = rendered.srcdoc
        item["blocked_images"] = rendered.blocked_images
        item["frame_height"] = work.frame_height(rendered.srcdoc)
    else:
        item["text"], item["quoted"] = rendering.split_quoted(message.text)
    item["files"] = [
        work.preview_of(a)
        for a in attachments
        if not (a.inline and a.content_id.strip("<>") in used_cids)
    ]
    return item


@require_GET
@staff_page
def thread_detail(request: HttpRequest, thread_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    return thread_page(request, thread)


def thread_page(
    request: HttpRequest, thread: Thread, *, status: int = 200, errors: dict[str, Any] | None = None
) -> HttpResponse:
    """The thread page; after a failed assign/status/note form (work.py), with its error."""
    remote_images = request.GET.get("images") == "1"
    messages = selectors.thread_messages(thread)
    items = [present_message(request, message, remote_images=remote_images) for message in messages]
    if status == 200:
        threads.mark_thread(thread, read=True)
    # A form of this page that failed (a POST to work.py) leaves any kept draft for the reload.
    draft = take_draft(request, request.path) if request.method == "GET" else None
    restored: dict[str, Any] = {}
    if draft is not None:
        action = "forward" if draft.get("action") == "forward" else "reply"
        restored = {f"{action}_form": draft, "draft_kept": action}
        kept_parent = next((m for m in messages if m.public_id == draft.get("parent")), None)
        if kept_parent is not None:
            restored["parent"] = kept_parent
    context = {
        "thread": thread,
        "inbox": thread.inbox,
        "remote_images": remote_images,
        "blocked_images": sum(item.get("blocked_images", 0) for item in items),
        **_reply_context(messages),
        **restored,
        **work.thread_context(request, thread, items, **(errors or {})),
    }
    response = render_page(request, "mail/thread.html", context, status=status)
    response["Content-Security-Policy"] = page_csp(remote_images=remote_images)
    return response


def _reply_context(messages: list[Message], **overrides: Any) -> dict[str, Any]:
    """What the reply and forward forms need (messages.ui.reply_form, with the forms)."""
    return reply_form.reply_context(messages, **overrides)


def _failed_form(
    request: HttpRequest,
    thread: Thread,
    errors: dict[str, Any],
    *,
    status: int,
    **reply_overrides: Any,
) -> HttpResponse:
    """The thread page again after one of its forms failed, the error beside that form."""
    messages = selectors.thread_messages(thread)
    items = [present_message(request, m, remote_images=False) for m in messages]
    context = {
        "thread": thread,
        "inbox": thread.inbox,
        **_reply_context(messages, **reply_overrides),
        **work.thread_context(request, thread, items),
        **errors,
    }
    return render_page(request, "mail/thread.html", context, status=status)


# What a reply or forward form submits besides its files (kept across a login, compared by
# the idempotency fingerprint).
_SEND_FIELDS = (*SEND_FORM_FIELDS, "cc", "bcc", "quote", "expected_last_message_id", "draft")


@post_only(thread_url)
def send_from_thread(request: HttpRequest, thread_id: str, action: str) -> HttpResponse:
    """Reply, reply-all or forward. From a browser whose session expired, what was typed is
    kept (with the last message id the page showed, so a message that arrived meanwhile is
    still caught) and the user logs in and lands back on the thread's page, the form filled in
    again; chosen files cannot be kept and are named to be attached again."""
    if not request.user.is_authenticated:
        fields = read_form(request, _SEND_FIELDS)
        files = [upload.name for upload in request.FILES.getlist("attachments")]
        keep_draft(
            request,
            thread_url(thread_id),
            {"action": action, **fields, "lost_files": ", ".join(files)},
        )
        return redirect_to_login(thread_url(thread_id))
    return _send_from_thread(request, thread_id, action)


@staff_page
def _send_from_thread(request: HttpRequest, thread_id: str, action: str) -> HttpResponse:
    """Reply, reply-all or forward, through the API's services. When a message arrived in the
    thread after the page was shown, nothing is sent: the page comes back with the new
    message(s) and the text as typed, to send anyway or revise."""
    organization = request.organization  # type: ignore[attr-defined]
    thread = selectors.get_thread(organization, thread_id)
    parent = selectors.get_thread_message(thread, request.POST.get("parent", ""))
    form = read_form(request, _SEND_FIELDS)
    if action != "forward" and "to" not in request.POST:
        # A reply form from before To was editable: whom the reply goes to by default.
        form["to"] = ", ".join(reply_form.reply_recipients(parent))
    key_field = "forward_key" if action == "forward" else "reply_key"
    key = request.POST.get("idempotency_key", "")
    try:
        files = reply_form.uploaded_files(request)
        if action == "forward":
            send = sending.forward(parent, form, by=request.user, attachments=files)
        else:
            quote = reply_form.quote_of(parent) if form["quote"] else ""
            send = sending.reply(
                parent,
                form,
                reply_all=form["mode"] == "reply-all",
                by=request.user,
                attachments=files,
                quote=quote,
            )
        # A resubmit after a collision ("Send anyway") carries the new last id: the same send.
        fingerprint = {
            "action": action,
            "parent": parent.public_id,
            **{name: value for name, value in form.items() if name != "expected_last_message_id"},
            "files": reply_form.file_fingerprint(files),
        }
        message = sending.send_once(request, organization, key, fingerprint, send)
    except ThreadChanged as changed:
        context = {
            f"{action}_form": form,
            f"{action}_collision": sending.new_messages(thread, changed.new_message_ids),
            f"{action}_lost_files": [
                upload.name for upload in request.FILES.getlist("attachments")
            ],
        }
        # The form now expects the newest message: "Send anyway" sends over it.
        form["expected_last_message_id"] = changed.new_message_ids[-1]
        return _failed_form(request, thread, context, status=409, **{key_field: key})
    except SendookError as error:
        context = {
            f"{action}_error": error.message,
            f"{action}_form": form,
            f"{action}_lost_files": [
                upload.name for upload in request.FILES.getlist("attachments")
            ],
        }
        return _failed_form(request, thread, context, status=error.status_code, **{key_field: key})
    sending.discard_autosaved(organization, form.get("draft", ""), by=request.user)
    target = reverse("mail:thread", args=[message.thread.public_id])
    return redirect(f"{target}#{message.public_id}")


@post_only(thread_url)
@staff_page
def mark_read(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = selectors.get_thread(request.organization, thread_id)  # type: ignore[attr-defined]
    read = request.POST.get("read") == "1"
    threads.mark_thread(thread, read=read)
    default = reverse("mail:inbox", args=[thread.inbox.public_id])
    return back(request, default)


@post_only(thread_url)
@staff_page
def change_labels(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = selectors.get_thread(request.organization, thread_id)  # type: ignore[attr-defined]
    add = [label for label in request.POST.getlist("add") if label.strip()]
    remove = [label for label in request.POST.getlist("remove") if label.strip()]
    try:
        add = [clean_label(label) for label in add]
        remove = [clean_label(label) for label in remove]
    except ValueError as error:
        return _failed_form(request, thread, {"label_error": str(error)}, status=400)
    threads.change_thread_labels(thread, add=add, remove=remove)
    helpdesk.forget_labels(thread.organization)
    return redirect("mail:thread", thread_id=thread.public_id)
