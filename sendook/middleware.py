"""Machine-facing paths answer JSON even when a plain Django view fails.

DRF views already render errors through sendook.api.errors.exception_handler. This covers the rest of
/v1 and the inbound webhooks (/webhooks/…: SES/SNS and Anymail's provider views, whose signal
receivers raise our domain errors): a SendookError renders as its JSON error, a database outage
as 503 with Retry-After, so providers retry instead of seeing Django's HTML 500. Browser pages
keep Django's own error handling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpRequest, HttpResponse

from sendook.api import json_error
from sendook.exceptions import SendookError, ServiceUnavailable

logger = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/v1/", "/webhooks/")


class JsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(MACHINE_PREFIXES):
            return None
        if isinstance(exception, SendookError):
            error = exception
        elif isinstance(exception, DatabaseError) and not isinstance(
            exception, DataError | IntegrityError
        ):
            logger.exception("database error while handling %s", request.path)
            error = ServiceUnavailable()
        else:
            return None  # a bug: Django's handler500 (JSON under /v1) and the error log
        response = json_error(
            error.message,
            error.code,
            error.status_code,
            fields=error.fields,
            headers=error.headers,
        )
        if error.status_code == 503 and "Retry-After" not in response:
            response["Retry-After"] = "5"
        return response


class MethodNotAllowedPageMiddleware:
    """A 405 (a form action opened with the wrong method) without a body is, for people, the
    styled 405 page of templates/; machine paths keep their answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or request.path.startswith(MACHINE_PREFIXES)
            or getattr(response, "streaming", False)
            or response.content
        ):
            return response
        from django.template.loader import render_to_string

        allowed = response.get("Allow", "")
        page = HttpResponse(
            render_to_string("405.html", {"allowed": allowed}, request=request), status=405
        )
        if allowed:
            page["Allow"] = allowed
        return page
