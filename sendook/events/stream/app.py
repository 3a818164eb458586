"""The ASGI app serving one Server-Sent Events stream of an organization's event log.

Everything that can be refused is refused before the first byte of the stream, as a JSON error
like the rest of /v1: the method, the credentials (the authenticator), the query and resume
id (params.py), the organization's stream limit (limits.py). Then: `retry: 3000`, the events
after the resume point in feed order (`id:` = event id, so Last-Event-ID resumes exactly), a
`: heartbeat` comment every SENDOOK_STREAM_HEARTBEAT_SECONDS (the client must still be
allowed then), and an end after SENDOOK_STREAM_IDLE_SECONDS
without an event. A client that does not read is cut off: when SENDOOK_STREAM_BUFFER_EVENTS
events wait for it, or when one write cannot be handed to it for two heartbeats (10 s at least).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from rest_framework import exceptions as drf_exceptions

from sendook.api.auth import Unauthorized, authenticate_bearer
from sendook.api.errors import send_error
from sendook.api.permissions import MissingScope
from sendook.api.tenancy import get_api_key_model
from sendook.events.stream.db import run_db
from sendook.events.stream.hub import Listener, StreamOverflow, get_hub
from sendook.events.stream.limits import acquire_slot
from sendook.events.stream.params import (
    StreamFilter,
    parse_stream_request,
    resolve_stream_request,
)
from sendook.exceptions import SendookError, ServiceUnavailable

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]
SCOPE = "events:read"
RETRY_MS = 3000
CHUNK_BYTES = 64 * 1024
WRITE_TIMEOUT_FLOOR = 10.0
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]


@dataclass(frozen=True)
class StreamClient:
    organization: Any
    inbox_ids: frozenset[str] | None
    label: str
    still_allowed: Callable[[], bool]


Authenticator = Callable[[Scope], Awaitable[StreamClient]]


class MethodNotAllowed(SendookError):
    status_code = 405
    code = "method_not_allowed"

    def __init__(self, method: str) -> None:
        super().__init__(f'Method "{method[:20]}" not allowed.', headers={"Allow": "GET"})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def api_key_stream_client(scope: Scope) -> StreamClient:
    """The bearer API key of the request; it needs scope events:read."""
    authorization = header(scope, b"authorization")
    if not authorization:
        raise Unauthorized()
    try:
        client = await run_db(authenticate_bearer, authorization)
    except drf_exceptions.AuthenticationFailed as exc:
        raise Unauthorized(str(exc.detail)) from None
    if SCOPE not in client.scopes:
        raise MissingScope(SCOPE)
    key_pk, inbox_ids = client.api_key.pk, client.inbox_ids

    def still_allowed() -> bool:
        """Not revoked, still with the scope, still seeing the same inboxes."""
        row = _key_row(key_pk)
        if row is None or SCOPE not in row[0]:
            return False
        return (None if row[1] is None else frozenset(row[1])) == inbox_ids

    return StreamClient(client.organization, inbox_ids, str(client), still_allowed)


# key pk -> (when read, its (scopes, inbox_ids) or None when revoked): the streams of one key
# (an agent's many connections, a bench's thousand) re-check it with one query per interval.
_key_rows: dict[int, tuple[float, Any]] = {}


def _key_row(key_pk: int) -> Any:
    now = time.monotonic()
    fresh_for = min(5.0, settings.SENDOOK_STREAM_HEARTBEAT_SECONDS / 2)
    cached = _key_rows.get(key_pk)
    if cached is not None and now - cached[0] < fresh_for:
        return cached[1]
    row = (
        get_api_key_model()
        ._default_manager.filter(pk=key_pk, revoked_at__isnull=True)
        .values_list("scopes", "inbox_ids")
        .first()
    )
    if len(_key_rows) > 10_000:
        _key_rows.clear()
    _key_rows[key_pk] = (now, row)
    return row


async def _open(scope: Scope, authenticate: Authenticator) -> tuple[StreamClient, StreamFilter]:
    method = scope.get("method", "GET")
    if method != "GET":
        raise MethodNotAllowed(method)
    client = await authenticate(scope)
    request = parse_stream_request(scope.get("query_string", b""), header(scope, b"last-event-id"))
    wanted = await run_db(
        lambda: resolve_stream_request(client.organization, request, inbox_ids=client.inbox_ids)
    )
    return client, wanted


def stream_app(authenticate: Authenticator) -> ASGIApp:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1003})
            return
        hub = get_hub()
        try:
            await hub.start()
            client, wanted = await _open(scope, authenticate)
            after_seq = wanted.after_seq
            if after_seq is None:
                after_seq = await hub.head(client.organization.pk)
            slot = await acquire_slot(client.organization.pk)
        except SendookError as error:
            await send_error(send, error)
            return
        except DatabaseError:
            logger.exception("stream: database error while opening a stream")
            await send_error(send, ServiceUnavailable(headers={"Retry-After": "5"}))
            return
        try:
            async with hub.listen(client.organization.pk, after_seq=after_seq) as listener:
                await _serve(receive, send, listener, client, wanted)
        finally:
            await slot.release()

    return app


async def _serve(
    receive: Any,
    send: Any,
    listener: Listener,
    client: StreamClient,
    wanted: StreamFilter,
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    pump = asyncio.ensure_future(_pump(send, listener, client, wanted))
    gone = asyncio.ensure_future(_until_disconnect(receive))
    overflow = asyncio.ensure_future(listener.overflowed.wait())
    try:
        done, _ = await asyncio.wait({pump, gone, overflow}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, gone, overflow):
            task.cancel()
        for task in (pump, gone, overflow):
            try:
                await task
            except (asyncio.CancelledError, Exception) as exc:
                # A pump stopped mid-write keeps what the client was not sent in its frames,
                # which a reference cycle (the task and its asyncio.timeout) would hold until
                # the next full garbage collection: let go of them now.
                traceback.clear_frames(exc.__traceback__)
    if overflow in done or (pump in done and isinstance(pump.exception(), StreamOverflow)):
        # It is not reading: no goodbye (that write would wait too); the connection closes.
        logger.warning(
            "stream: %s cut off, not reading (%s)", client.label, listener.cut_off_reason
        )
        return
    if gone in done or (pump in done and isinstance(pump.exception(), OSError)):
        return  # the client went away
    if pump.exception() is not None:
        logger.error("stream: %s ended by an error", client.label, exc_info=pump.exception())
    with contextlib.suppress(Exception):
        async with asyncio.timeout(settings.SENDOOK_STREAM_HEARTBEAT_SECONDS):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _pump(send: Any, listener: Listener, client: StreamClient, wanted: StreamFilter) -> None:
    heartbeat = settings.SENDOOK_STREAM_HEARTBEAT_SECONDS
    idle = settings.SENDOOK_STREAM_IDLE_SECONDS
    # A client slower than this to take one piece is not reading (reading clients on slow
    # links take far less); the buffer limit usually cuts it off first.
    write_timeout = max(2 * heartbeat, WRITE_TIMEOUT_FLOOR)

    listener.write_timeout = write_timeout

    async def write(body: bytes) -> None:
        # Watched by the hub's clock (Listener._tick), not by a timer per write.
        listener.writing_since = clock()
        try:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            listener.writing_since = None

    clock = asyncio.get_running_loop().time
    await write(b"retry: %d\n\n" % RETRY_MS)
    last_event = clock()
    beat_at = listener.due = last_event + heartbeat
    while True:
        items = await listener.next(None)
        if listener.closing:
            await write(b": server stopping; reconnect with Last-Event-ID\n\n")
            return
        chunk: list[bytes] = []
        size = 0
        for item in items:
            if wanted.wants(item):
                chunk.append(item.frame)
                size += len(item.frame)
            if chunk and (size >= CHUNK_BYTES or item is items[-1]):
                # In pieces: each write waits while the client's socket is full, so the
                # server never queues more than a piece for a client that does not read.
                await write(b"".join(chunk))
                chunk, size = [], 0
                last_event = clock()
        now = clock()
        if now < beat_at:
            continue
        if now - last_event >= idle:
            await write(b": idle, closing; reconnect with Last-Event-ID\n\n")
            return
        if not await run_db(client.still_allowed):
            logger.info("stream: %s no longer allowed; closing", client.label)
            return
        await write(b": heartbeat\n\n")
        beat_at = listener.due = now + heartbeat
