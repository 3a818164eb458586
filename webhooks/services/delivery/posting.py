"""Posting: vetting a webhook's URL and posting one delivery's signed envelope to it."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

from django.conf import settings

from sendook.events.services import build_envelope
from webhooks import http, signing
from webhooks.models import Delivery
from webhooks.ssrf import Resolver, UnsafeUrlError, VettedUrl, vet_url

# Host name resolver used by the SSRF checks (None: the system resolver). Tests swap it to
# make a name resolve somewhere else between create time and delivery time.
resolver: Resolver | None = None

# One per process: its kept-alive connections serve every batch this process posts.
_poster = http.Poster()


# Host name lookups of /test pings, run where the request can stop waiting for them (the
# system resolver cannot be interrupted); a few threads, as only requests use it.
_ping_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-ping-dns")


class _LookupTimedOut(Exception):
    pass


def vet(url: str, *, deadline: float | None) -> VettedUrl | UnsafeUrlError | _LookupTimedOut:
    def vetted() -> VettedUrl | UnsafeUrlError:
        try:
            return vet_url(
                url, allow_private=settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE, resolver=resolver
            )
        except UnsafeUrlError as exc:
            return exc

    if deadline is None:
        return vetted()
    lookup = _ping_lookups.submit(vetted)
    try:
        return lookup.result(timeout=max(deadline - time.monotonic(), 0))
    except FuturesTimeout:
        return _LookupTimedOut()


def post(
    delivery: Delivery,
    vetted: VettedUrl | UnsafeUrlError | _LookupTimedOut,
    *,
    started: float | None = None,
) -> http.DeliveryResult:
    """Post one delivery; `started` set = a /test ping, bounded by SENDOOK_WEBHOOK_TEST_TIMEOUT
    from then (its lookup included) instead of the usual per-post timeouts."""
    if isinstance(vetted, UnsafeUrlError):
        return http.refused(vetted, started=started)
    ping = started is not None
    total = settings.SENDOOK_WEBHOOK_TEST_TIMEOUT if ping else settings.SENDOOK_WEBHOOK_TIMEOUT
    if isinstance(vetted, _LookupTimedOut):
        duration_ms = int((time.monotonic() - (started or 0)) * 1000)
        return http.DeliveryResult(
            None, False, f"timed out after {total:g} s resolving the host", duration_ms, ""
        )
    event = delivery.event
    body = json.dumps(build_envelope(event), separators=(",", ":"), ensure_ascii=False).encode()
    # webhook-id is the event id on every attempt, so receivers can deduplicate retries.
    headers = signing.headers(
        delivery.webhook.secret, msg_id=event.public_id, timestamp=int(time.time()), body=body
    )
    return _poster.post_to(
        vetted,
        body=body,
        headers=headers,
        connect_timeout=min(settings.SENDOOK_WEBHOOK_CONNECT_TIMEOUT, total),
        total_timeout=total,
        max_response_bytes=settings.SENDOOK_WEBHOOK_MAX_RESPONSE_BYTES,
        started=started,
    )
