"""Project-level views: the health probe, the favicon, and the error pages: JSON for machine
paths (/v1, /webhooks), the styled pages of templates/ (404.html, 403.html, 403_csrf.html,
405.html, 500.html) inside the site's layout for people."""

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from sendook.api import json_error
from sendook.events.stream import hub_status
from sendook.middleware import MACHINE_PREFIXES

logger = logging.getLogger(__name__)


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and probes: the database must answer; the broker when one is set.
    In the ASGI process it also shows the event stream hub (see `_stream_status`)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports, it never raises
        logger.warning("health: database: %s", exc)
        checks["database"] = "unavailable"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = "in-process"
    else:
        from sendook.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=0, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:
            logger.warning("health: broker: %s", exc)
            checks["broker"] = "unavailable"
    healthy = all(value in ("ok", "in-process") for value in checks.values())
    body: dict[str, Any] = {"healthy": healthy, **checks}
    stream = _stream_status()
    if stream is not None:
        body["stream"] = stream
        healthy = healthy and stream["state"] != "unavailable"
        body["healthy"] = healthy
    return JsonResponse(body, status=200 if healthy else 503)


def _stream_status() -> dict[str, Any] | None:
    """The event stream hub of this process, once the ASGI lifespan has started it; None in
    processes that serve no stream (gunicorn). Fan-out through Redis that lost its connection is
    "degraded", not unhealthy: the hub polls the database meanwhile, so streams keep delivering
    (a second or so later) and taking this process out of the load balancer would only cut them.
    """
    try:
        status = hub_status()
    except Exception as exc:  # a probe reports, it never raises
        logger.warning("health: stream hub: %s", exc)
        return {"state": "unavailable"}
    if status is None:
        return None
    status = dict(status)
    lost_redis = status.get("fanout") == "redis" and not status.get("connected")
    status["state"] = "degraded" if lost_redis else "ok"
    return status


# Exempt like every DRF view: API clients carry a key, not a CSRF token, so a write to an
# unknown /v1 path would otherwise get the CSRF failure page (HTML 403) instead of this 404.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return json_error("Not found", "not_found", 404)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PREFIXES) or request.path in ("/v1", "/webhooks")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("Bad request", "bad_request", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("Forbidden", "forbidden", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("Not found", "not_found", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error("Internal server error", "internal_error", 500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted with an expired or missing token (signed in again in
    another tab, cookies cleared). People get the styled page with a way back to the page the
    form was on; machine paths their JSON 403."""
    if _is_api(request):
        return json_error("CSRF check failed", "forbidden", 403)
    referer = request.META.get("HTTP_REFERER", "")
    back = (
        referer
        if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()})
        else ""
    )
    return render(request, "403_csrf.html", {"back": back, "reason": reason}, status=403)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico whatever the page links: the SVG icon."""
    return HttpResponsePermanentRedirect(static("mail/favicon.svg"))
