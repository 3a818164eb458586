"""Anymail's provider webhooks (`/webhooks/anymail/<provider>/<inbound|tracking>/`), opt-in,
and the receiver of Anymail's inbound signal, which feeds the same pipeline as every way in.

Nothing is mounted unless an operator lists the provider in `SENDOOK_INBOUND_PROVIDERS` or
`SENDOOK_TRACKING_PROVIDERS`. Every mounted view is authenticated: by Anymail's basic-auth
secret (`ANYMAIL["WEBHOOK_SECRET"]`) and, where the provider signs its webhooks and Anymail
checks the signature, by the provider's signing key. An enabled provider without what it needs
is a system-check error (messages.checks), and its view refuses every request as well, because
gunicorn starts without running checks.

Amazon SES is not here: its receipt and event notifications go to `/webhooks/ses`, which checks
the SNS signature and topic and fetches only configured S3 buckets. Anymail's SES views check
neither (its inbound view fetches whatever bucket/key the body names).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent, inbound
from anymail.utils import get_request_basic_auth
from anymail.webhooks import (
    brevo,
    mailersend,
    mailgun,
    mailjet,
    mailtrap,
    postal,
    postmark,
    resend,
    sendgrid,
    sparkpost,
)
from anymail.webhooks.base import AnymailCoreWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, re_path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from messages.services.receive import receive_raw_email
from sendook.api import json_error

logger = logging.getLogger(__name__)

INBOUND = "inbound"
TRACKING = "tracking"
# Names that are refused with a pointer to where that traffic goes instead.
ROUTED_ELSEWHERE = {
    "amazon_ses": "Amazon SES notifications go to /webhooks/ses (SNS signature and topic "
    "checked, SENDOOK_SES_TOPIC_ARNS / SENDOOK_SES_S3_BUCKETS); it is not an Anymail provider here.",
}


@dataclass(frozen=True)
class Endpoint:
    provider: str
    kind: str  # INBOUND or TRACKING
    view_class: type[AnymailCoreWebhookView]
    # The provider's signing-key setting (a key of settings.ANYMAIL) when Anymail verifies its
    # signatures; `signature_required`: Anymail cannot run without it (basic auth is not enough).
    signing_key: str = ""
    signature_required: bool = False
    routes: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return self.routes or (rf"^{self.provider}/{self.kind}/$",)


def _endpoints() -> dict[tuple[str, str], Endpoint]:
    table = [
        Endpoint("brevo", INBOUND, brevo.BrevoInboundWebhookView),
        Endpoint("brevo", TRACKING, brevo.BrevoTrackingWebhookView),
        # Mailgun posts parsed fields to .../inbound/ and the raw MIME to .../inbound_mime/.
        Endpoint(
            "mailgun", INBOUND, mailgun.MailgunInboundWebhookView,
            "MAILGUN_WEBHOOK_SIGNING_KEY", True, (r"^mailgun/inbound(_mime)?/$",),
        ),
        Endpoint(
            "mailgun", TRACKING, mailgun.MailgunTrackingWebhookView,
            "MAILGUN_WEBHOOK_SIGNING_KEY", True,
        ),
        Endpoint(
            "mailersend", INBOUND, mailersend.MailerSendInboundWebhookView,
            "MAILERSEND_INBOUND_SECRET", True,
        ),
        Endpoint(
            "mailersend", TRACKING, mailersend.MailerSendTrackingWebhookView,
            "MAILERSEND_SIGNING_SECRET", True,
        ),
        Endpoint("mailjet", INBOUND, mailjet.MailjetInboundWebhookView),
        Endpoint("mailjet", TRACKING, mailjet.MailjetTrackingWebhookView),
        Endpoint(
            "mailtrap", INBOUND, mailtrap.MailtrapInboundWebhookView, "MAILTRAP_INBOUND_SECRET"
        ),
        Endpoint(
            "mailtrap", TRACKING, mailtrap.MailtrapTrackingWebhookView, "MAILTRAP_TRACKING_SECRET"
        ),
        Endpoint("postal", INBOUND, postal.PostalInboundWebhookView, "POSTAL_WEBHOOK_KEY", True),
        Endpoint("postal", TRACKING, postal.PostalTrackingWebhookView, "POSTAL_WEBHOOK_KEY", True),
        Endpoint("postmark", INBOUND, postmark.PostmarkInboundWebhookView),
        Endpoint("postmark", TRACKING, postmark.PostmarkTrackingWebhookView),
        Endpoint("resend", INBOUND, resend.ResendInboundWebhookView, "RESEND_INBOUND_SECRET"),
        Endpoint("resend", TRACKING, resend.ResendTrackingWebhookView, "RESEND_SIGNING_SECRET"),
        Endpoint("sendgrid", INBOUND, sendgrid.SendGridInboundWebhookView),
        Endpoint(
            "sendgrid", TRACKING, sendgrid.SendGridTrackingWebhookView,
            "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
        ),
        Endpoint("sparkpost", INBOUND, sparkpost.SparkPostInboundWebhookView),
        Endpoint("sparkpost", TRACKING, sparkpost.SparkPostTrackingWebhookView),
    ]  # fmt: skip
    return {(endpoint.provider, endpoint.kind): endpoint for endpoint in table}


ENDPOINTS = _endpoints()
SUPPORTED = {INBOUND: sorted(p for p, k in ENDPOINTS if k == INBOUND),
             TRACKING: sorted(p for p, k in ENDPOINTS if k == TRACKING)}  # fmt: skip


def enabled_names(kind: str) -> list[str]:
    """The provider names an operator listed for `kind`, lower-cased, as given."""
    setting = (
        settings.SENDOOK_INBOUND_PROVIDERS
        if kind == INBOUND
        else settings.SENDOOK_TRACKING_PROVIDERS
    )
    return [name.strip().lower() for name in setting if name.strip()]


def enabled_endpoints() -> list[Endpoint]:
    return [
        ENDPOINTS[(name, kind)]
        for kind in (INBOUND, TRACKING)
        for name in enabled_names(kind)
        if (name, kind) in ENDPOINTS
    ]


def basic_auth_secrets() -> list[str]:
    secret = (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET") or []
    return [secret] if isinstance(secret, str) else [s for s in secret if s]


def missing_credentials(endpoint: Endpoint) -> str:
    """What the endpoint still needs before it can tell a provider from a forger; "" if none."""
    signing_key = (settings.ANYMAIL or {}).get(endpoint.signing_key) if endpoint.signing_key else ""
    if endpoint.signature_required and not signing_key:
        return f'ANYMAIL["{endpoint.signing_key}"] (ANYMAIL_{endpoint.signing_key})'
    if not signing_key and not basic_auth_secrets():
        needed = 'ANYMAIL["WEBHOOK_SECRET"] (ANYMAIL_WEBHOOK_SECRET=user:password)'
        if endpoint.signing_key:
            needed += f' or ANYMAIL["{endpoint.signing_key}"] (ANYMAIL_{endpoint.signing_key})'
        return needed
    return ""


# --- the view ---------------------------------------------------------------------------------


# Errors Anymail's parsers raise on a malformed (but authenticated) body.
_MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, LookupError)


def _webhook_view(endpoint: Endpoint) -> Callable[..., HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in ("POST", "HEAD"):
            return json_error("Use POST", "method_not_allowed", 405)
        missing = missing_credentials(endpoint)
        if missing:
            logger.error("%s %s webhook refused: set %s", endpoint.provider, endpoint.kind, missing)
            return json_error("This webhook is not configured", "webhook_not_configured", 403)
        if request.method == "HEAD":  # some providers probe the URL when it is configured
            return HttpResponse()
        secrets = basic_auth_secrets()
        if secrets:
            given = get_request_basic_auth(request)
            if not any(constant_time_compare(given or "", secret) for secret in secrets):
                response = json_error(
                    "Missing or wrong webhook credentials", "unauthenticated", 401
                )
                response["WWW-Authenticate"] = 'Basic realm="sendook-webhooks"'
                return response
        try:
            anymail_view = endpoint.view_class()
        except (ImproperlyConfigured, ValueError) as exc:  # e.g. an unreadable verification key
            logger.error("%s %s webhook misconfigured: %s", endpoint.provider, endpoint.kind, exc)
            return json_error("This webhook is not configured", "webhook_not_configured", 403)
        anymail_view.setup(request, *args, **kwargs)
        try:
            anymail_view.run_validators(request)  # basic auth again, and the provider's signature
        except (AnymailWebhookValidationFailure, *_MALFORMED) as exc:  # unsigned or garbled
            logger.warning("%s %s webhook rejected: %s", endpoint.provider, endpoint.kind, exc)
            return json_error("Bad webhook signature", "bad_signature", 403)
        try:
            events = anymail_view.parse_events(request)
        except _MALFORMED as exc:
            logger.warning(
                "%s %s webhook: malformed body: %s", endpoint.provider, endpoint.kind, exc
            )
            return json_error("Malformed webhook body", "invalid_payload", 400)
        # Receivers' errors propagate: RawStorageFailed and database outages answer 503 (the
        # provider retries) through sendook.middleware.JsonErrorsMiddleware.
        for event in events:
            anymail_view.signal.send(
                sender=endpoint.view_class, event=event, esp_name=anymail_view.esp_name
            )
        return JsonResponse({"status": "ok"})

    view.__name__ = f"{endpoint.provider}_{endpoint.kind}_webhook"
    return view


@csrf_exempt
def provider_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return json_error("No such provider webhook is enabled", "not_found", 404)


def provider_urlpatterns() -> list[URLPattern]:
    """The enabled endpoints, then a JSON 404 for every other /webhooks/anymail/ path."""
    patterns: list[URLPattern] = []
    for endpoint in enabled_endpoints():
        name = f"{endpoint.provider}_{endpoint.kind}_webhook"
        view = _webhook_view(endpoint)
        for route in endpoint.paths:
            patterns.append(re_path(route, view, name=name))
    patterns.append(re_path(r"^.*$", provider_not_found))
    return patterns


# --- the inbound signal ---------------------------------------------------------------------


@receiver(inbound, dispatch_uid="sendook.receive_anymail_inbound")
def receive_anymail_inbound(
    sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any
) -> None:
    message = event.message
    if message is None:
        return
    esp = esp_name.lower().replace(" ", "_")
    if message.envelope_recipient:
        recipients = [message.envelope_recipient]
    else:  # providers that give no envelope: the visible recipients
        recipients = [address.addr_spec for address in [*message.to, *message.cc]]
    # No verdicts: Anymail's `spam_detected` comes from X-Spam-Status / X-Mailgun-Sflag headers
    # inside the message, which the sender can write too (see services/receive.py, _verdicts).
    # RawStorageFailed propagates: Anymail answers 5xx and the provider retries.
    receive_raw_email(
        message.as_bytes(),
        recipients=recipients,
        source=f"anymail:{esp}",
        notification_id=f"anymail:{esp}:{event.event_id}" if event.event_id else "",
    )
