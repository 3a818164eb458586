"""Brute-force protection for the password forms: the staff UI's /login and /admin/login/.

Failed logins are counted with django-ratelimit in the shared cache, in two fixed windows:
one per account (the email/username tried, from any address: slows a distributed guess at
one password) and one per client address (every account tried from it: slows one client
spraying many accounts). Once either budget is spent, a POST to a login form is answered 429
with a page saying how long to wait, before the form runs, so no password hash is computed
and even the right password is refused until the window ends. Successful logins are never
counted, and a GET of the form is never throttled.

The client address is REMOTE_ADDR unless SENDOOK_TRUSTED_PROXY_HEADER names a header that the
proxy in front sets (never trusted by default: any client can send X-Forwarded-For).
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)

ACCOUNT_GROUP = "login-account"
ADDRESS_GROUP = "login-address"


def client_address(request: HttpRequest) -> str:
    """The address a request came from, as far as this deployment can tell.

    With SENDOOK_TRUSTED_PROXY_HEADER set (e.g. X-Forwarded-For), the address is the
    SENDOOK_TRUSTED_PROXY_COUNT-th entry from the right of that header: each trusted proxy
    appends the address it saw, so entries further left were written by the client. A missing
    or malformed header falls back to REMOTE_ADDR. IPv6 addresses count per /64, since one
    host usually holds a whole /64.
    """
    address = request.META.get("REMOTE_ADDR", "")
    header = settings.SENDOOK_TRUSTED_PROXY_HEADER
    if header:
        meta_key = "HTTP_" + header.upper().replace("-", "_")
        hops = [hop.strip() for hop in request.META.get(meta_key, "").split(",") if hop.strip()]
        count = max(settings.SENDOOK_TRUSTED_PROXY_COUNT, 1)
        if len(hops) >= count:
            address = hops[-count]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100] or "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def _account(identifier: str | None) -> str:
    return (identifier or "").strip().lower()[:254]


def _limits(request: HttpRequest, account: str) -> list[tuple[str, str, str]]:
    limits = [(ADDRESS_GROUP, settings.SENDOOK_LOGIN_RATE_PER_ADDRESS, client_address(request))]
    if account:
        limits.append((ACCOUNT_GROUP, settings.SENDOOK_LOGIN_RATE_PER_ACCOUNT, account))
    return limits


def _usage(request: HttpRequest, group: str, rate: str, value: str, *, increment: bool) -> Any:
    if not rate:
        return None
    try:
        return get_usage(
            request, group=group, key=lambda _g, _r: value, rate=rate, increment=increment
        )
    except Exception:  # the cache is down: logins still work, unthrottled
        logger.warning("login throttle cache unavailable; not throttling", exc_info=True)
        return None


def wait_seconds(request: HttpRequest, identifier: str | None) -> int:
    """Seconds until this login may be tried again; 0 when it may be tried now."""
    wait = 0
    for group, rate, value in _limits(request, _account(identifier)):
        usage = _usage(request, group, rate, value, increment=False)
        # limit 0 is django-ratelimit's answer when the cache failed: fail open, as above.
        if usage and usage["limit"] and usage["count"] >= usage["limit"]:
            # The window's last whole second still counts in it: free again one second later.
            wait = max(wait, int(usage["time_left"]) + 1)
    return wait


@receiver(user_login_failed, dispatch_uid="sendook-login-throttle")
def count_failed_login(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    if request is None:  # authenticate() called outside a request (shell, tests)
        return
    for group, rate, value in _limits(request, _account(credentials.get("username"))):
        _usage(request, group, rate, value, increment=True)


def throttled_page(request: HttpRequest, wait: int) -> HttpResponse:
    minutes = math.ceil(wait / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if wait > 60 else f"{wait} seconds"
    body = render_to_string(
        "registration/throttled.html", {"wait": when, "retry_path": request.path}, request
    )
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(wait)
    return response


def throttle_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a login view: a POST over budget is answered 429 without running the view."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            wait = wait_seconds(request, request.POST.get("username"))
            if wait:
                logger.warning(
                    "login throttled for %s (account %r)",
                    client_address(request),
                    _account(request.POST.get("username")),
                )
                return throttled_page(request, wait)
        return view(request, *args, **kwargs)

    wrapped.__name__ = getattr(view, "__name__", "login")
    wrapped.__doc__ = view.__doc__
    return wrapped
