"""The staff inbox UI: server-rendered pages for people who belong to an organization.

Every view resolves the organization from the signed-in user's memberships (the one chosen in
the switcher, kept in the session) and looks rows up through messages.mailbox, so another
organization's ids answer 404. Pages carry a strict Content-Security-Policy; message bodies are
rendered by messages.rendering into sandboxed iframes.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import getaddresses
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from messages import mailbox, rendering, ui_sending
from messages.models import Attachment, Message
from messages.search import InvalidSearchQuery, parse_query, search_messages
from messages.services import send as outbound
from sendook.exceptions import SendookError

ORG_SESSION_KEY = "sendook_org"
ATTACHMENT_SALT = "sendook.ui.attachment"
def _link_max_age() -> int:
    return settings.SENDOOK_ATTACHMENT_LINK_SECONDS
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# What was typed into a send form whose session had expired, kept until the user is back.
DRAFTS_SESSION_KEY = "sendook_drafts"
MAX_DRAFTS = 5
MAX_DRAFT_CHARS = 500_000


def page_csp(*, remote_images: bool = False) -> str:
    # Message bodies live in srcdoc iframes, which inherit this policy on top of their own.
    images = "'self' data:" + (" https: http:" if remote_images else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "connect-src 'self'"
    )


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in members only; sets request.organization and the page's CSP."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        memberships = list(mailbox.organizations_for(request.user))
        wanted = request.session.get(ORG_SESSION_KEY)
        organization = next((o for o in memberships if o.public_id == wanted), None) or (
            memberships[0] if memberships else None
        )
        request.organizations = memberships  # type: ignore[attr-defined]
        if organization is None:
            response = render(request, "mail/no_organization.html", status=403)
        else:
            request.organization = organization  # type: ignore[attr-defined]
            response = view(request, *args, **kwargs)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = page_csp()
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def _keep_draft(request: HttpRequest, page: str, fields: dict[str, str]) -> None:
    """Keep a form's content for `page` in the session (Django's login keeps an anonymous
    session's data), so a send made after the session expired is not lost."""
    drafts = dict(request.session.get(DRAFTS_SESSION_KEY) or {})
    drafts.pop(page, None)
    drafts[page] = {name: str(value)[:MAX_DRAFT_CHARS] for name, value in fields.items()}
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[DRAFTS_SESSION_KEY] = drafts


def _take_draft(request: HttpRequest, page: str) -> dict[str, str] | None:
    drafts = dict(request.session.get(DRAFTS_SESSION_KEY) or {})
    draft = drafts.pop(page, None)
    if draft is not None:
        request.session[DRAFTS_SESSION_KEY] = drafts
    return draft


def post_only(back: Callable[..., str]) -> Callable[[Callable[..., HttpResponse]], Callable]:
    """A form action: a GET (a reload, a bookmark, the page the login returns to) goes back
    to the page the form is on (`back(**url kwargs)`) instead of answering 405."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in ("GET", "HEAD"):
                return redirect(back(*args, **kwargs))
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _thread_url(thread_id: str, **_kwargs: Any) -> str:
    return reverse("mail:thread", args=[thread_id])


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    base = {
        "organization": organization,
        "organizations": request.organizations,  # type: ignore[attr-defined]
        "inboxes": list(mailbox.list_inboxes_with_unread(organization)),
    }
    return render(request, template, {**base, **context}, status=status)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        response["Content-Security-Policy"] = page_csp()
        return response

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        form.fields["username"].label = "Email"
        form.fields["username"].widget.attrs.update({"type": "email", "autocomplete": "email"})
        return form


class LogoutView(auth_views.LogoutView):
    next_page = "/login"


@post_only(lambda: reverse("mail:home"))
@staff_page
def switch_organization(request: HttpRequest) -> HttpResponse:
    chosen = mailbox.pick_organization(request.user, request.POST.get("organization"))
    if chosen is not None:
        request.session[ORG_SESSION_KEY] = chosen.public_id
    return redirect("mail:home")


@require_GET
@staff_page
def home(request: HttpRequest) -> HttpResponse:
    return _render(request, "mail/inboxes.html", {})


@require_GET
@staff_page
def thread_list(request: HttpRequest, inbox_id: str | None = None) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    inbox = mailbox.get_inbox(organization, inbox_id) if inbox_id else None
    page = _page_number(request)
    threads, has_next = mailbox.thread_page(organization, inbox=inbox, page=page)
    return _render(
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
    inbox = mailbox.get_inbox(organization, inbox_id) if inbox_id else None
    page = _page_number(request)
    context: dict[str, Any] = {"query": query, "inbox": inbox, "page": page, "results": []}
    if not query:
        return _render(request, "mail/search.html", context)
    try:
        rows = search_messages(organization, query, inbox=inbox).select_related("thread", "inbox")
        messages, has_next = mailbox.page_of(rows.defer("search_vector", "html"), page)
    except InvalidSearchQuery as error:
        context["error"] = error.message
        return _render(request, "mail/search.html", context, status=400)
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
    return _render(request, "mail/search.html", context)


def _attachment_link(request: HttpRequest, attachment: Attachment) -> str:
    """An absolute URL that works inside a sandboxed frame (no cookies): signed for this user."""
    # Bound to the user's password hash too: a password change (or a deactivated login) ends
    # every link handed out before it, like it ends the sessions.
    user = request.user
    token = signing.dumps(
        {"u": user.pk, "a": attachment.public_id, "h": user.get_session_auth_hash()[:16]},  # type: ignore[union-attr]
        salt=ATTACHMENT_SALT,
    )
    path = reverse("mail:attachment", args=[attachment.public_id])
    return request.build_absolute_uri(f"{path}?sig={token}")


def _present(request: HttpRequest, message: Message, *, remote_images: bool) -> dict[str, Any]:
    attachments = list(message.attachments.all())
    by_cid = {a.content_id.strip("<>"): a for a in attachments if a.content_id}
    used_cids: set[str] = set()

    def resolve_cid(content_id: str) -> str | None:
        attachment = by_cid.get(content_id)
        if attachment is None or attachment.content_type.lower() not in INLINE_IMAGE_TYPES:
            return None
        used_cids.add(content_id)
        return _attachment_link(request, attachment)

    item: dict[str, Any] = {"message": message}
    if message.html.strip():
        origin = request.build_absolute_uri("/").rstrip("/")
        rendered = rendering.render_html(
            message.html, origin=origin, resolve_cid=resolve_cid, remote_images=remote_images
        )
        item["srcdoc"] = rendered.srcdoc
        item["blocked_images"] = rendered.blocked_images
    else:
        item["text"], item["quoted"] = rendering.split_quoted(message.text)
    item["files"] = [
        a for a in attachments if not (a.inline and a.content_id.strip("<>") in used_cids)
    ]
    return item


@require_GET
@staff_page
def thread_detail(request: HttpRequest, thread_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    thread = mailbox.get_thread(organization, thread_id)
    remote_images = request.GET.get("images") == "1"
    messages = mailbox.thread_messages(thread)
    items = [_present(request, message, remote_images=remote_images) for message in messages]
    mailbox.mark_thread(thread, read=True)
    draft = _take_draft(request, request.path)
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
        "items": items,
        "remote_images": remote_images,
        "blocked_images": sum(item.get("blocked_images", 0) for item in items),
        **_reply_context(messages),
        **restored,
    }
    response = _render(request, "mail/thread.html", context)
    response["Content-Security-Policy"] = page_csp(remote_images=remote_images)
    return response


def _reply_context(messages: list[Message], **overrides: Any) -> dict[str, Any]:
    """What the reply and forward forms need: the message they answer (the latest received
    one, else the latest) and a fresh idempotency key for each form."""
    received = [m for m in messages if m.direction == Message.Direction.INBOUND]
    parent = (received or messages)[-1] if messages else None
    # Named as the reply service picks them: in a thread of sent mail only, our last
    # message's recipients, not ourselves.
    recipients = outbound.reply_recipients(parent) if parent else []
    names = [name or address for name, address in getaddresses(recipients)]
    return {
        "parent": parent,
        "reply_to_names": ", ".join(names),
        "reply_key": ui_sending.new_form_key(),
        "forward_key": ui_sending.new_form_key(),
        **overrides,
    }


SEND_FORM_FIELDS = ("parent", "text", "to", "mode")


@post_only(_thread_url)
def send_from_thread(request: HttpRequest, thread_id: str, action: str) -> HttpResponse:
    """Reply, reply-all or forward. From a browser whose session expired, what was typed is
    kept and the user logs in and lands back on the thread, the form filled in again."""
    if not request.user.is_authenticated:
        fields = {name: request.POST.get(name, "") for name in SEND_FORM_FIELDS}
        _keep_draft(request, _thread_url(thread_id), {"action": action, **fields})
        return redirect_to_login(_thread_url(thread_id))
    return _send_from_thread(request, thread_id, action)


@staff_page
def _send_from_thread(request: HttpRequest, thread_id: str, action: str) -> HttpResponse:
    """Reply, reply-all or forward, through the API's services."""
    organization = request.organization  # type: ignore[attr-defined]
    thread = mailbox.get_thread(organization, thread_id)
    parent = thread.messages.filter(public_id=request.POST.get("parent", "")).first()
    if parent is None:
        raise Http404("Message not found")
    form = {name: request.POST.get(name, "") for name in ("text", "to", "mode")}
    key_field = "forward_key" if action == "forward" else "reply_key"
    key = request.POST.get("idempotency_key", "")
    try:
        if action == "forward":
            send = ui_sending.forward(parent, form)
        else:
            send = ui_sending.reply(parent, form, reply_all=form["mode"] == "reply-all")
        fingerprint = {"action": action, "parent": parent.public_id, **form}
        message = ui_sending.send_once(request, organization, key, fingerprint, send)
    except SendookError as error:
        messages = mailbox.thread_messages(thread)
        items = [_present(request, m, remote_images=False) for m in messages]
        context = {
            "thread": thread,
            "inbox": thread.inbox,
            "items": items,
            **_reply_context(messages, **{key_field: key}),
            f"{action}_error": error.message,
            f"{action}_form": form,
        }
        return _render(request, "mail/thread.html", context, status=error.status_code)
    target = reverse("mail:thread", args=[message.thread.public_id])
    return redirect(f"{target}#{message.public_id}")


COMPOSE_FIELDS = ("inbox", "to", "cc", "subject", "text")


@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not request.user.is_authenticated:
        page = reverse("mail:compose")
        _keep_draft(request, page, {name: request.POST.get(name, "") for name in COMPOSE_FIELDS})
        return redirect_to_login(page)
    return _compose(request)


@staff_page
def _compose(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    boxes = list(mailbox.list_inboxes_with_unread(organization))
    if request.method == "POST":
        form = {name: request.POST.get(name, "") for name in COMPOSE_FIELDS}
        key = request.POST.get("idempotency_key", "")
        try:
            inbox = mailbox.get_inbox(organization, form["inbox"])
            send = ui_sending.compose(organization, inbox, form)
            message = ui_sending.send_once(
                request, organization, key, {"action": "compose", **form}, send
            )
        except SendookError as error:
            context = {"form": form, "form_key": key, "error": error.message, "from_inboxes": boxes}
            return _render(request, "mail/compose.html", context, status=error.status_code)
        target = reverse("mail:thread", args=[message.thread.public_id])
        return redirect(f"{target}#{message.public_id}")
    draft = _take_draft(request, reverse("mail:compose"))
    form = draft or {"inbox": request.GET.get("inbox", "")}
    context = {
        "form": form,
        "form_key": ui_sending.new_form_key(),
        "from_inboxes": boxes,
        "draft_kept": draft is not None,
    }
    return _render(request, "mail/compose.html", context)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@post_only(_thread_url)
@staff_page
def mark_read(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = mailbox.get_thread(request.organization, thread_id)  # type: ignore[attr-defined]
    read = request.POST.get("read") == "1"
    mailbox.mark_thread(thread, read=read)
    default = reverse("mail:inbox", args=[thread.inbox.public_id])
    return _back(request, default)


@post_only(_thread_url)
@staff_page
def change_labels(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = mailbox.get_thread(request.organization, thread_id)  # type: ignore[attr-defined]
    add = [label for label in request.POST.getlist("add") if label.strip()]
    remove = [label for label in request.POST.getlist("remove") if label.strip()]
    try:
        mailbox.change_thread_labels(thread, add=add, remove=remove)
    except ValueError as error:
        messages = mailbox.thread_messages(thread)
        items = [_present(request, m, remote_images=False) for m in messages]
        context = {
            "thread": thread,
            "inbox": thread.inbox,
            "items": items,
            "label_error": str(error),
            **_reply_context(messages),
        }
        return _render(request, "mail/thread.html", context, status=400)
    return redirect("mail:thread", thread_id=thread.public_id)


def attachment(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    """Attachment bytes for a member of the owning organization: by session, or by a signed
    link (inline images inside a sandboxed frame are fetched without cookies)."""
    user_id = request.user.pk if request.user.is_authenticated else None
    token = request.GET.get("sig")
    if token:
        try:
            payload = signing.loads(token, salt=ATTACHMENT_SALT, max_age=_link_max_age())
        except signing.BadSignature:
            raise Http404("Attachment not found") from None
        if payload.get("a") != attachment_id:
            raise Http404("Attachment not found")
        user_id = payload.get("u")
        signer = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if signer is None or signer.get_session_auth_hash()[:16] != payload.get("h"):
            raise Http404("Attachment not found")
    if user_id is None:
        return redirect(f"{reverse('mail:login')}?next={request.path}")
    row = (
        Attachment.objects.filter(
            public_id=attachment_id, message__organization__memberships__user_id=user_id
        )
        .select_related("message")
        .first()
    )
    if row is None or not row.file:
        raise Http404("Attachment not found")
    content_type = row.content_type.lower()
    inline = content_type in INLINE_IMAGE_TYPES
    response = FileResponse(
        row.file.open("rb"),
        as_attachment=not inline,
        filename=row.filename or "attachment",
        content_type=content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    # Loaded as <img> from the opaque origin of a sandboxed frame.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
