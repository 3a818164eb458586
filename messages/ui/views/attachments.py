"""Attachment bytes for members, by session or by a signed link."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from messages import selectors
from messages.exceptions import AttachmentNotFound
from messages.models import Attachment

ATTACHMENT_SALT = "sendook.ui.attachment"
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
PDF_TYPE = "application/pdf"


def _link_max_age() -> int:
    return settings.SENDOOK_ATTACHMENT_LINK_SECONDS


def attachment_link(request: HttpRequest, attachment: Attachment) -> str:
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
    try:
        row = selectors.get_attachment_for_member(user_id, attachment_id)
    except AttachmentNotFound:
        raise Http404("Attachment not found") from None
    if not row.file:
        raise Http404("Attachment not found")
    content_type = row.content_type.lower()
    # Shown in the page: images (as <img>, never SVG: it can carry script) and, when the thread
    # page's Preview link asks, a PDF in the browser's own viewer. Everything else, HTML
    # above all, is a download of opaque bytes, and ?download=1 makes any of them one.
    pdf_preview = content_type == PDF_TYPE and request.GET.get("preview") == "1"
    inline = (content_type in INLINE_IMAGE_TYPES or pdf_preview) and not request.GET.get("download")
    response = FileResponse(
        row.file.open("rb"),
        as_attachment=not inline,
        filename=row.filename or "attachment",
        content_type=content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Chromium's PDF viewer does not run in a sandboxed document (it shows nothing), so a PDF
    # preview goes without `sandbox`; `default-src 'none'` still stops the PDF itself from
    # loading anything, and a PDF's own scripts are not run by the browser's viewer.
    response["Content-Security-Policy"] = (
        "default-src 'none'; frame-ancestors 'none'"
        if pdf_preview and inline
        else "default-src 'none'; sandbox"
    )
    response["Cache-Control"] = "private, max-age=3600"
    # Loaded as <img> from the opaque origin of a sandboxed frame.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
