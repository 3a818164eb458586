"""Provider webhooks that bring mail in: Amazon SES via SNS (`POST /webhooks/ses`).

Thin adapters: verify, hand the raw bytes to `receive_raw_email`, answer. Status codes follow
what SNS does with them: it retries only 5xx, so 5xx means "we could not store it, try again"
and 4xx means "never send this again" (forged, unknown topic, malformed).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from messages.exceptions import RawStorageFailed
from messages.inbound.ses.notifications import (
    SesNotificationError,
    parse_ses_notification,
)
from messages.inbound.ses.sns import (
    CertificateFetcher,
    SnsVerificationError,
    validate_subscribe_url,
    verify_sns_message,
)
from messages.models import InboundEmail
from messages.services.receive import receive_raw_email
from messages.services.tracking import SesEvent, handle_ses_event
from sendook.api import json_error

logger = logging.getLogger(__name__)

_fetcher_lock = threading.Lock()
_fetcher: tuple[tuple[str | None, str | None], CertificateFetcher] | None = None

# Verification failures that say nothing about the sender's honesty but about our side.
_RETRYABLE_REASONS = {"certificate_fetch_failed"}
_FORBIDDEN_REASONS = {"unknown_topic", "bad_signature", "bad_certificate"}


def certificate_fetcher() -> CertificateFetcher:
    """One fetcher (and certificate cache) per process and per configuration."""
    global _fetcher
    key = (settings.SENDOOK_SNS_CERT_CONNECT_TO, settings.SENDOOK_SNS_CA_BUNDLE)
    with _fetcher_lock:
        if _fetcher is None or _fetcher[0] != key:
            _fetcher = (key, CertificateFetcher(connect_to=key[0], ca_bundle=key[1]))
        return _fetcher[1]


@csrf_exempt
def ses_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return json_error("Use POST", "method_not_allowed", 405)
    cap = settings.SENDOOK_SNS_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return json_error("Bad Content-Length", "bad_request", 400)
    if declared > cap:
        return json_error("Notification too large", "payload_too_large", 413)
    body = request.read(cap + 1)
    if len(body) > cap:
        return json_error("Notification too large", "payload_too_large", 413)
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):  # also UnicodeDecodeError; RecursionError: nested deep
        return json_error("Body is not JSON", "invalid_json", 400)
    if not isinstance(envelope, dict):
        return json_error("Body is not a JSON object", "invalid_json", 400)

    try:
        verify_sns_message(
            envelope,
            fetcher=certificate_fetcher(),
            allowed_topic_arns=settings.SENDOOK_SES_TOPIC_ARNS,
        )
    except SnsVerificationError as exc:
        logger.warning("ses webhook: rejected notification: %s", exc)
        if exc.reason in _RETRYABLE_REASONS:
            return json_error("Could not verify the notification; retry", exc.reason, 503)
        status = 403 if exc.reason in _FORBIDDEN_REASONS else 400
        return json_error("Notification rejected", exc.reason, status)

    message_type = envelope["Type"]
    if message_type == "SubscriptionConfirmation":
        return _confirm_subscription(envelope)
    if message_type == "UnsubscribeConfirmation":
        return JsonResponse({"status": "ignored"})
    return _notification(envelope)


def _confirm_subscription(envelope: dict[str, Any]) -> JsonResponse:
    try:
        url = validate_subscribe_url(envelope["SubscribeURL"])
    except SnsVerificationError as exc:
        return json_error("Bad SubscribeURL", exc.reason, 400)
    try:
        status = _https_get(url)
    except OSError as exc:
        logger.warning("ses webhook: could not confirm subscription: %s", exc)
        return json_error("Could not confirm the subscription; retry", "confirm_failed", 503)
    if status != 200:
        return json_error(f"SNS answered {status} to the confirmation", "confirm_failed", 502)
    logger.info("ses webhook: confirmed subscription to %s", envelope["TopicArn"])
    return JsonResponse({"status": "subscribed"})


def _https_get(url: str) -> int:
    """GET a validated SNS URL; tests dial a loopback server like the certificate fetcher."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    connection = certificate_fetcher().connection(host)
    try:
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        connection.request("GET", target)
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        connection.close()


def _notification(envelope: dict[str, Any]) -> JsonResponse:
    try:
        notification = parse_ses_notification(envelope)
    except SesNotificationError as exc:
        logger.warning("ses webhook: unusable notification: %s", exc)
        return json_error("Notification not understood", exc.reason, 400)
    if isinstance(notification, SesEvent):
        handle_ses_event(notification)
        return JsonResponse({"status": "recorded"})

    notification_id = f"sns:{notification.notification_id}"
    if notification.content is not None:
        raw, source = notification.content, "ses_sns"
    else:
        existing = InboundEmail.objects.filter(provider_notification_id=notification_id).first()
        if existing is not None:  # an SNS redelivery: already stored, nothing to fetch
            return JsonResponse({"status": "stored", "id": existing.public_id})
        bucket, key = notification.s3_bucket or "", notification.s3_key or ""
        if bucket not in settings.SENDOOK_SES_S3_BUCKETS:
            logger.warning("ses webhook: bucket %r is not configured", bucket)
            return json_error("Bucket not allowed", "unknown_bucket", 403)
        try:
            raw = _fetch_s3_object(bucket, key)
        except _TooLarge:
            logger.error("ses webhook: s3://%s/%s exceeds the inbound size limit", bucket, key)
            return json_error("Message too large", "payload_too_large", 413)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("ses webhook: could not fetch s3://%s/%s: %s", bucket, key, exc)
            return json_error("Could not fetch the message; retry", "s3_unavailable", 503)
        source = "ses_s3"
    try:
        record = receive_raw_email(
            raw,
            recipients=notification.recipients,
            source=source,
            notification_id=notification_id,
            verdicts=notification.verdicts,
        )
    except RawStorageFailed as exc:
        return json_error(exc.message, exc.code, exc.status_code)
    return JsonResponse({"status": "stored", "id": record.public_id})


class _TooLarge(Exception):
    pass


def _fetch_s3_object(bucket: str, key: str) -> bytes:
    client = boto3.client(
        "s3",
        region_name=settings.AWS_REGION,
        **({"endpoint_url": settings.AWS_ENDPOINT_URL} if settings.AWS_ENDPOINT_URL else {}),
    )
    response = client.get_object(Bucket=bucket, Key=key)
    limit = settings.SENDOOK_INBOUND_MAX_BYTES
    if int(response.get("ContentLength") or 0) > limit:
        response["Body"].close()
        raise _TooLarge()
    data: bytes = response["Body"].read(limit + 1)
    if len(data) > limit:
        raise _TooLarge()
    return data
