"""What every staff page shares: the signed-in member's organization, the page's
Content-Security-Policy, form actions that answer a GET, and the layout's context."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from inboxes.selectors import member_of_user, organizations_for
from messages import selectors
from messages.ui import helpdesk
from sendook.exceptions import NotFound

ORG_SESSION_KEY = "sendook_org"

User = AbstractBaseUser | AnonymousUser


def page_csp(*, remote_images: bool = False) -> str:
    # Message bodies live in srcdoc iframes, which inherit this policy on top of their own.
    images = "'self' data:" + (" https: http:" if remote_images else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "connect-src 'self'"
    )


def selected_organization(user: User, session: Any) -> tuple[list[Any], Any | None]:
    """The user's organizations and the one the session chose (the switcher's), else their
    first; the pages and the live stream (messages.ui.live) pick it the same way."""
    memberships = list(organizations_for(user))
    wanted = session.get(ORG_SESSION_KEY)
    organization = next((o for o in memberships if o.public_id == wanted), None) or (
        memberships[0] if memberships else None
    )
    return memberships, organization


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in members only; sets request.organization and the page's CSP. A selector's
    not-found error (another organization's id) is the site's 404 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        memberships, organization = selected_organization(request.user, request.session)
        request.organizations = memberships  # type: ignore[attr-defined]
        if organization is None:
            response = render(request, "mail/no_organization.html", status=403)
        else:
            request.organization = organization  # type: ignore[attr-defined]
            # The signed-in person as a member of this organization: owners and members both
            # work threads ("Mine" is the threads assigned to this membership).
            request.member = member_of_user(organization, request.user)  # type: ignore[attr-defined]
            try:
                response = view(request, *args, **kwargs)
            except NotFound as error:
                raise Http404(error.message) from None
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = page_csp()
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


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


def thread_url(thread_id: str, **_kwargs: Any) -> str:
    return reverse("mail:thread", args=[thread_id])


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    base = {
        "organization": organization,
        "organizations": request.organizations,  # type: ignore[attr-defined]
        "inboxes": selectors.list_inboxes_with_unread(organization),
        # The sidebar's Approvals count (the message_pending_approval partial index).
        "pending_approvals": selectors.list_pending_approvals(organization).count(),
        # The sidebar's Drafts count (the message_drafts partial index).
        "draft_count": selectors.count_drafts(organization),
        # The helpdesk views with their counts (one aggregate query): of the inbox whose
        # thread list this is, else across inboxes; and the organization's labels.
        **helpdesk.sidebar(request, context.get("list_inbox")),
    }
    return render(request, template, {**base, **context}, status=status)


def back(request: HttpRequest, default: str) -> HttpResponse:
    """To the page the form said it was on (`next`), if it is one of ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return redirect(target)
    return redirect(default)
