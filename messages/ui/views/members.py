"""The Members page (owners): invite a member with an initial password or an invite link,
change a role, remove a member; and the invite link's page, where the invitee chooses a
password. The last owner can be neither removed nor made a member (a form error says so)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from inboxes import members as people
from inboxes.models import Membership
from inboxes.selectors import get_member, members_of
from messages.ui.views.base import page_csp, post_only, render_page
from messages.ui.views.roles import owner_page
from sendook.exceptions import SendookError


def _members_url(**_kwargs: Any) -> str:
    return reverse("mail:members")


def _page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    rows = members_of(organization).order_by("user__email", "id")
    context = {
        "members": rows,
        "roles": Membership.Role.choices,
        "view_members": True,
        "form": {"role": "member"},
        **extra,
    }
    return render_page(request, "mail/members.html", context, status=status)


def _member(request: HttpRequest, member_id: str) -> Membership:
    return get_member(request.organization, member_id)  # type: ignore[attr-defined]


@require_GET
@owner_page
def member_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@post_only(_members_url)
@owner_page
def invite(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = {name: request.POST.get(name, "") for name in ("email", "role", "how")}
    password = request.POST.get("password", "") if form["how"] == "password" else ""
    if form["how"] == "password" and not password:
        return _page(
            request,
            status=400,
            invite_error="Password: enter an initial password, or choose an invite link.",
            form=form,
        )
    try:
        invited = people.invite_member(
            organization, email=form["email"], role=form["role"], password=password
        )
    except SendookError as error:
        return _page(request, status=error.status_code, invite_error=error.message, form=form)
    link = ""
    if invited.token:
        link = request.build_absolute_uri(reverse("mail:join", args=[invited.token]))
    return _page(request, invited=invited.membership, invite_link=link)


@post_only(_members_url)
@owner_page
def change_role(request: HttpRequest, member_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    membership = _member(request, member_id)
    try:
        people.change_role(organization, membership, role=request.POST.get("role", ""))
    except SendookError as error:
        return _page(request, status=error.status_code, row_error=error.message, row=member_id)
    return redirect("mail:members")


@post_only(_members_url)
@owner_page
def remove(request: HttpRequest, member_id: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    membership = _member(request, member_id)
    try:
        people.remove_member(organization, membership)
    except SendookError as error:
        return _page(request, status=error.status_code, row_error=error.message, row=member_id)
    if membership.user_id == request.user.pk:
        return redirect("mail:home")
    return redirect("mail:members")


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The invite link: the invitee chooses a password and is signed in."""
    try:
        membership = people.membership_of_invite(token)
    except people.InviteInvalid as error:
        raise Http404(error.message) from None
    form = SetPasswordForm(membership.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = people.accept_invite(token, password=form.cleaned_data["new_password1"])
        login(request, membership.user, backend="inboxes.auth.EmailBackend")
        return redirect("mail:home")
    context = {"form": form, "membership": membership}
    response = render(
        request, "registration/join.html", context, status=400 if form.errors else 200
    )
    response["Content-Security-Policy"] = page_csp()
    return response
