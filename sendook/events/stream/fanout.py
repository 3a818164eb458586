"""How every process's stream hub learns that an organization has new events.

Telling: `record_event` calls `announce_on_commit(organization.pk)` for every event; after the
transaction commits, the organization's pk is published on one Redis channel (when
SENDOOK_STREAM_URL is set) and the hub of this very process, if it runs here, is woken
directly. Announcing never fails the caller: with Redis down it logs, and the hubs' polling
safety net finds the events anyway.

Hearing (`Hearing`, run by the hub): one Redis pub/sub connection per process. Pub/sub is
at-most-once (a message published while a subscriber reconnects is lost), so the hub also
re-reads every organization's tail every heartbeat, polls every SENDOOK_STREAM_POLL_SECONDS
while Redis is unreachable, and re-reads everything as soon as it is subscribed again.
Without Redis (the embedded default) it polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

CHANNEL = "sendook:events"
# After a failed publish, commits skip Redis for this long instead of each waiting for its
# timeout: the hubs poll meanwhile.
PUBLISH_PAUSE_SECONDS = 2.0

_local_wake: Callable[[int], None] | None = None
_clients: dict[str, redis.Redis] = {}
_publish_paused_until = 0.0


def mode() -> str:
    return "redis" if settings.SENDOOK_STREAM_URL else "polling"


def wake_locally(wake: Callable[[int], None] | None) -> None:
    """The hub of this process registers its thread-safe wake here (None when it stops)."""
    global _local_wake
    _local_wake = wake


def announce_on_commit(organization_pk: int) -> None:
    """Wake every hub once the current transaction commits (at once outside a transaction)."""
    try:
        transaction.on_commit(partial(_announce, organization_pk), robust=True)
    except Exception:  # never the caller's failure: the polling safety net covers it
        logger.exception("stream: could not schedule the announcement of new events")


def _announce(organization_pk: int) -> None:
    global _publish_paused_until
    wake = _local_wake
    if wake is not None:
        try:
            wake(organization_pk)
        except Exception:
            logger.exception("stream: waking this process's hub")
    url = settings.SENDOOK_STREAM_URL
    if not url or time.monotonic() < _publish_paused_until:
        return
    try:
        _client(url).publish(CHANNEL, str(organization_pk))
    except Exception as exc:
        _publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
        logger.warning("stream: publishing to Redis failed (the hubs will poll): %s", exc)


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        # Short timeouts: this runs in the request that committed.
        client = _clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5
        )
    return client


_async_clients: dict[tuple[str, int], aioredis.Redis] = {}


def async_client(url: str) -> aioredis.Redis:
    """A redis.asyncio client for the running loop (the slots in limits.py share it)."""
    key = (url, id(asyncio.get_running_loop()))
    client = _async_clients.get(key)
    if client is None:
        client = _async_clients[key] = aioredis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2
        )
    return client


class Hearing:
    """The hub's ears: Redis pub/sub when configured, polling otherwise or meanwhile."""

    def __init__(self, *, wake: Callable[[int], None], wake_all: Callable[[], None]) -> None:
        self.url = settings.SENDOOK_STREAM_URL
        self.mode = mode()
        self.wake = wake
        self.wake_all = wake_all
        self.connected = not self.url  # polling needs no connection
        self.poll_seconds = max(settings.SENDOOK_STREAM_POLL_SECONDS, 0.05)
        self.safety_seconds = max(settings.SENDOOK_STREAM_HEARTBEAT_SECONDS, self.poll_seconds)
        self._tasks: list[asyncio.Task[Any]] = []
        # Until then, poll as if Redis were down: just after a reconnect, processes that failed
        # to publish during the outage still skip Redis for up to PUBLISH_PAUSE_SECONDS.
        self._fast_until = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._poll()))
        if self.url:
            self._tasks.append(loop.create_task(self._subscribe()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _poll(self) -> None:
        """Every poll interval without Redis (or while it is down); every heartbeat with it."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.poll_seconds)
            now = time.monotonic()
            fast = not (self.url and self.connected) or now < self._fast_until
            if fast or now - last >= self.safety_seconds:
                last = now
                self.wake_all()

    async def _subscribe(self) -> None:
        backoff = 0.25
        while True:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                if not self.connected:
                    logger.info("stream: listening on Redis channel %s", CHANNEL)
                self.connected = True
                self._fast_until = time.monotonic() + PUBLISH_PAUSE_SECONDS + self.poll_seconds
                backoff = 0.25
                self.wake_all()  # whatever was announced while nobody here was subscribed
                while True:
                    message = await pubsub.get_message(timeout=self.safety_seconds)
                    if message is None:
                        await pubsub.ping()  # a silently dead connection fails here
                    elif message.get("type") == "message":
                        self._heard(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected:
                    logger.warning("stream: Redis pub/sub lost (polling meanwhile): %s", exc)
                self.connected = False
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _heard(self, data: Any) -> None:
        try:
            organization_pk = int(data)
        except (TypeError, ValueError):
            return
        self.wake(organization_pk)
