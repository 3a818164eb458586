"""Signing in and out, and choosing which of one's organizations the inbox shows."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from inboxes.selectors import pick_organization
from messages.ui.views.base import (
    ORG_SESSION_KEY,
    page_csp,
    post_only,
    staff_page,
)


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
    chosen = pick_organization(request.user, request.POST.get("organization"))
    if chosen is not None:
        request.session[ORG_SESSION_KEY] = chosen.public_id
    return redirect("mail:home")
