"""One effect per key: a request repeated with the same key runs once, and the repeat is
answered from what the first run kept, for SENDOOK_IDEMPOTENCY_TTL_HOURS.

`run_once` is the mechanism. The API's `Idempotency-Key` header goes through `idempotent`; the
staff UI's forms, which carry a key generated when the form was rendered, through
messages.ui.sending.send_once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from sendook.api.tenancy import IdempotencyRecord, Organization, get_idempotency_model
from sendook.exceptions import Conflict, ValidationFailed

T = TypeVar("T")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request"


def replay_cutoff() -> datetime:
    """Records kept before this moment no longer answer a repeat (and may be purged)."""
    return timezone.now() - timedelta(hours=settings.SENDOOK_IDEMPOTENCY_TTL_HOURS)


def fingerprint_of(value: Any) -> str:
    """What a repeat must match to be answered as a repeat."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def run_once(
    organization: Organization,
    key: str,
    request_fingerprint: str,
    handler: Callable[[], T],
    *,
    keep: Callable[[T], tuple[int, Any] | None],
    replay: Callable[[IdempotencyRecord], T],
    reused_message: str | None = None,
) -> T:
    """Run `handler` once per organization and key; a repeat gets `replay(record)`.

    `keep(result)` is the (status code, body) a repeat is answered from, or None to keep
    nothing, so that a failed request does not use up its key. The record is written in the
    same transaction as whatever the handler writes, so either both exist or neither does; a
    concurrent duplicate loses on the unique constraint and replays the winner's answer. A
    repeat with another fingerprint is refused (`IdempotencyKeyReused`), and a record older
    than the TTL no longer counts.
    """
    model = get_idempotency_model()
    records = model._default_manager.filter(organization=organization, key=key)

    def answer(record: IdempotencyRecord) -> T:
        if record.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused(reused_message)
        return replay(record)

    existing = cast(IdempotencyRecord | None, records.first())
    if existing is not None:
        if existing.created_at > replay_cutoff():
            return answer(existing)
        existing.delete()
    try:
        with transaction.atomic():
            result = handler()
            kept = keep(result)
            if kept is not None:
                status_code, body = kept
                model._default_manager.create(
                    organization=organization,
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=status_code,
                    response=body,
                )
    except IntegrityError:
        winner = cast(IdempotencyRecord | None, records.first())
        if winner is None:
            raise
        return answer(winner)
    return result


def idempotent(
    request: Request, organization: Organization, handler: Callable[[], Response]
) -> Response:
    """Run `handler` once per Idempotency-Key; a replay gets the stored response. Only a
    successful response is kept."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.for_field("Idempotency-Key", "Must be 1 to 255 characters.")
    return run_once(
        organization,
        key,
        fingerprint_of([request.method, request.path, request.data]),
        handler,
        keep=lambda response: (
            (response.status_code, response.data)
            if status.is_success(response.status_code)
            else None
        ),
        replay=lambda record: Response(
            record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"}
        ),
    )
