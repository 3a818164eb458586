"""`Idempotency-Key` replay for send-type POSTs (`idempotent`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes.models import IdempotencyRecord, Organization
from sendook.exceptions import Conflict, ValidationFailed


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request"


def idempotent(
    request: Request, organization: Organization, handler: Callable[[], Response]
) -> Response:
    """Run `handler` once per Idempotency-Key; a replay gets the stored response.

    The key row is written in the same transaction as whatever the handler writes, so either
    both exist or neither does; a concurrent duplicate loses on the unique constraint and
    replays the winner's response.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.for_field("Idempotency-Key", "Must be 1 to 255 characters.")
    fingerprint = hashlib.sha256(
        json.dumps(
            [request.method, request.path, request.data], sort_keys=True, default=str
        ).encode()
    ).hexdigest()
    ttl = timedelta(hours=settings.SENDOOK_IDEMPOTENCY_TTL_HOURS)

    def replay(record: IdempotencyRecord) -> Response:
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return Response(
            record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"}
        )

    records = IdempotencyRecord.objects.filter(organization=organization, key=key)
    existing = records.first()
    if existing is not None:
        if existing.created_at > timezone.now() - ttl:
            return replay(existing)
        existing.delete()
    try:
        with transaction.atomic():
            response = handler()
            if status.is_success(response.status_code):
                IdempotencyRecord.objects.create(
                    organization=organization,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    response=response.data,
                )
    except IntegrityError:
        winner = records.first()
        if winner is None:
            raise
        return replay(winner)
    return response
