"""The process's stream hub: one tail reader per organization with open listeners.

A wake (an announcement heard over Redis, a poll tick, a commit in this very process) makes
the organization's tail reader number the committed events and read what follows the last
feed number it read, once, however many listeners the organization has; each event's
envelope is serialized once (FeedItem.data) and handed to every listener's bounded buffer.
A listener that starts behind the tail (Last-Event-ID, ?after=) catches up from a small ring
of recent items or from the database, up to the feed number the tail had when it joined, and
then takes the live items, which all come after that number: no gap, no duplicate.

Database work runs on a small thread pool of its own (`run_db`), not on the thread that
Django's sync views share under ASGI (sync_to_async's thread_sensitive mode): a slow page
render then never delays a stream's wake-up, and a burst of stream reads never queues in
front of a page. Each thread keeps its own connection, checked like a request's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max

from sendook.events import feed, selectors
from sendook.events.models import Event
from sendook.events.stream import fanout, limits
from sendook.events.stream.db import run_db

logger = logging.getLogger(__name__)

# Events read per query (the tail's and a catching-up listener's).
PAGE = 200
# Recent items kept per organization for listeners that join a little behind the tail (a
# client reconnecting, one that read the head just before an event): by count and by size.
RING_ITEMS = 512
RING_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class FeedItem:
    seq: int
    id: str
    type: str
    inbox_id: str
    message_id: str
    envelope: dict
    data: str
    # The whole SSE frame, encoded once for every stream of every listener.
    frame: bytes = b""


class StreamOverflow(Exception):
    """A listener's buffer filled (a client that is not reading)."""


def _item(event: Event) -> FeedItem:
    envelope = feed.build_envelope(event)
    data = json.dumps(envelope, separators=(",", ":"))
    return FeedItem(
        seq=event.feed_seq or 0,
        id=event.public_id,
        type=event.type,
        inbox_id=event.inbox_public_id,
        message_id=event.message_public_id,
        envelope=envelope,
        data=data,
        frame=f"id: {event.public_id}\nevent: {event.type}\ndata: {data}\n\n".encode(),
    )


def _organization(organization_pk: int) -> Any:
    model = Event._meta.get_field("organization").related_model
    return model._default_manager.get(pk=organization_pk)  # type: ignore[union-attr]


def _head(organization: Any) -> int:
    feed.sequence_events(organization)
    top = Event.objects.filter(organization=organization).aggregate(top=Max("feed_seq"))["top"]
    return top or 0


def _page(organization: Any, after_seq: int, upto_seq: int | None) -> list[FeedItem]:
    rows = selectors.list_events(organization).filter(feed_seq__gt=after_seq)
    if upto_seq is not None:
        rows = rows.filter(feed_seq__lte=upto_seq)
    return [_item(event) for event in rows.order_by("feed_seq")[:PAGE]]


def _read_tail(organization: Any, after_seq: int) -> list[FeedItem]:
    feed.sequence_events(organization)
    return _page(organization, after_seq, None)


class _Tail:
    """One organization's reader and its listeners."""

    def __init__(self, hub: Hub, organization_pk: int) -> None:
        self.hub = hub
        self.organization_pk = organization_pk
        self.organization: Any = None
        self.listeners: set[Listener] = set()
        self.seq = 0  # the last feed number read (valid once `ready` is set)
        self.ready = asyncio.Event()
        self.wake = asyncio.Event()
        self.ring: deque[FeedItem] = deque()
        self.ring_bytes = 0
        self.ring_from = 0  # the ring holds every item with ring_from < seq <= self.seq
        self.reads = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                if not self.ready.is_set():
                    self.organization = await run_db(_organization, self.organization_pk)
                    self.seq = self.ring_from = await run_db(_head, self.organization)
                    self.ready.set()
                self.wake.clear()  # a wake during the read makes another read
                while True:
                    items = await run_db(_read_tail, self.organization, self.seq)
                    self.reads += 1
                    if items:
                        self._dispatch(items)
                    full = len(items) == PAGE
                    del items  # not held by this frame while it waits for the next wake
                    if not full:
                        break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("stream: reading organization %s's feed", self.organization_pk)
                await asyncio.sleep(settings.SENDOOK_STREAM_POLL_SECONDS)
                continue
            await self.wake.wait()

    def _dispatch(self, items: list[FeedItem]) -> None:
        for item in items:
            self.ring.append(item)
            self.ring_bytes += len(item.data)
            while len(self.ring) > RING_ITEMS or (self.ring_bytes > RING_BYTES and self.ring):
                dropped = self.ring.popleft()
                self.ring_bytes -= len(dropped.data)
                self.ring_from = dropped.seq
        self.seq = items[-1].seq
        for listener in self.listeners:
            listener._push(items)

    def recent(self, after_seq: int, upto_seq: int) -> list[FeedItem] | None:
        """Items in (after_seq, upto_seq] from the ring; None when it no longer has them all."""
        if after_seq < self.ring_from:
            return None
        return [item for item in self.ring if after_seq < item.seq <= upto_seq]


class Listener:
    """One consumer of an organization's feed (`async with hub.listen(...) as listener`)."""

    def __init__(self, hub: Hub, organization_pk: int, after_seq: int, buffer: int) -> None:
        self.hub = hub
        self.organization_pk = organization_pk
        self.last_seq = after_seq
        self._limit = max(buffer, 1)
        self._join_seq = after_seq
        self._buffer: deque[FeedItem] = deque()
        self._signal = asyncio.Event()
        # Set when the buffer overflowed: a caller blocked elsewhere (writing to a client
        # that does not read) can wait on it to give up.
        self.overflowed = asyncio.Event()
        # Kept by the hub's clock (one timer per process instead of one per stream and wake):
        # `due` (loop time) is when a caller waiting in next(None) wants to be woken anyway
        # (its heartbeat); `writing_since` is set by a caller while it hands data to a client,
        # and one that waits longer than `write_timeout` is cut off as a client not reading.
        self.due: float | None = None
        self.writing_since: float | None = None
        self.write_timeout: float | None = None
        self.cut_off_reason = ""
        # Set when the process is stopping: the caller says goodbye and ends (Hub.close_all).
        self.closing = False
        self._tail: _Tail | None = None

    async def __aenter__(self) -> Listener:
        await self.hub.start()
        self._tail = self.hub._join(self)
        try:
            await self._tail.ready.wait()
        except BaseException:
            self.hub._leave(self)
            raise
        # Every item after this number reaches the buffer; those up to it are caught up.
        self._join_seq = self._tail.seq
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.hub._leave(self)
        self._buffer.clear()

    def _push(self, items: list[FeedItem]) -> None:
        if self.overflowed.is_set():
            return
        # One read's batch is taken whole, however long: a reading client empties the
        # buffer at every next(); only items left untaken count against the limit.
        if len(self._buffer) >= self._limit:
            self._buffer.clear()
            self.cut_off("buffer full")
        else:
            self._buffer.extend(items)
        self._signal.set()

    def cut_off(self, reason: str) -> None:
        self.cut_off_reason = self.cut_off_reason or reason
        self.overflowed.set()
        self._signal.set()

    def _tick(self, now: float) -> None:
        """The hub's clock, about once a second."""
        if self.due is not None and now >= self.due:
            self._signal.set()
        since, limit = self.writing_since, self.write_timeout
        if since is not None and limit is not None and now - since > limit:
            self.cut_off("a write waited too long")

    async def next(self, timeout: float | None) -> list[FeedItem]:
        """The items after `last_seq`, in order; [] when none came within `timeout` seconds.
        `timeout=None`: no timer of its own; woken by items, or by the hub's clock at `due`
        (the stream's heartbeat: at 1,000 streams a timer per stream and wake cost more than
        the events)."""
        if self.overflowed.is_set():
            raise StreamOverflow()
        if self.closing:
            return []
        if self.last_seq < self._join_seq:
            caught = await self._catch_up()
            if caught:
                return caught
        if not self._buffer:
            self._signal.clear()
            if timeout is None:
                await self._signal.wait()
            else:
                try:
                    async with asyncio.timeout(max(timeout, 0)):
                        await self._signal.wait()
                except TimeoutError:
                    return []
            if self.overflowed.is_set():
                raise StreamOverflow()
        items = [item for item in self._buffer if item.seq > self.last_seq]
        self._buffer.clear()
        if items:
            self.last_seq = items[-1].seq
        return items

    async def _catch_up(self) -> list[FeedItem]:
        assert self._tail is not None
        recent = self._tail.recent(self.last_seq, self._join_seq)
        if recent is not None:
            items, complete = recent, True
        else:
            items = await run_db(_page, self._tail.organization, self.last_seq, self._join_seq)
            complete = len(items) < PAGE
        # The feed skips numbers (the webhook test pings): what is done is done up to the join.
        self.last_seq = self._join_seq if complete else items[-1].seq
        return items


class Hub:
    def __init__(self) -> None:
        self._tails: dict[int, _Tail] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hearing: fanout.Hearing | None = None
        self._leases: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:  # started on a loop that is gone (tests): begin again
            self._tails.clear()
        self._loop = loop
        self._hearing = fanout.Hearing(wake=self.wake, wake_all=self.wake_all)
        self._hearing.start()
        fanout.wake_locally(self._wake_threadsafe)
        self._clock = loop.create_task(self._keep_time())
        if settings.SENDOOK_STREAM_URL:
            self._leases = loop.create_task(limits.keep_leases())

    async def stop(self) -> None:
        if self._loop is None:
            return
        fanout.wake_locally(None)
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        if self._hearing is not None:
            await self._hearing.stop()
        if self._leases is not None:
            self._leases.cancel()
            self._leases = None
        for tail in list(self._tails.values()):
            tail.task.cancel()
        self._tails.clear()
        self._loop = None

    async def head(self, organization_pk: int) -> int:
        """Numbers the organization's pending events; returns its last feed number (0: none)."""
        return await run_db(lambda: _head(_organization(organization_pk)))

    def listen(
        self, organization_pk: int, *, after_seq: int, buffer: int | None = None
    ) -> Listener:
        size = settings.SENDOOK_STREAM_BUFFER_EVENTS if buffer is None else buffer
        return Listener(self, organization_pk, after_seq, size)

    async def _keep_time(self) -> None:
        loop = asyncio.get_running_loop()
        period = min(1.0, max(settings.SENDOOK_STREAM_HEARTBEAT_SECONDS / 2, 0.05))
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for tail in list(self._tails.values()):
                for listener in list(tail.listeners):
                    listener._tick(now)

    def wake(self, organization_pk: int) -> None:
        tail = self._tails.get(organization_pk)
        if tail is not None:
            tail.wake.set()

    def close_all(self) -> None:
        """The process is stopping: every stream says goodbye and ends now, so its client
        reconnects (to another process) with Last-Event-ID instead of being cut off when the
        server's graceful shutdown runs out."""
        for tail in list(self._tails.values()):
            for listener in list(tail.listeners):
                listener.closing = True
                listener._signal.set()

    def close_all_on_exit_signals(self) -> None:
        """Chains a handler before the server's own SIGTERM/SIGINT handlers (uvicorn installs
        them before the lifespan starts): the server then finds no open stream to wait for."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue

            def handler(number: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
                loop.call_soon_threadsafe(self.close_all)
                previous(number, frame)

            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread: the server handles signals elsewhere
                return

    def wake_all(self) -> None:
        for tail in self._tails.values():
            tail.wake.set()

    def _wake_threadsafe(self, organization_pk: int) -> None:
        """From a thread of this process that committed an event (a sync view under ASGI)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake, organization_pk)

    def status(self) -> dict[str, Any]:
        hearing = self._hearing
        return {
            "fanout": hearing.mode if hearing else fanout.mode(),
            "connected": bool(hearing and hearing.connected),
            # list(): /health reads this from a sync view's thread while the loop changes it.
            "streams": sum(len(tail.listeners) for tail in list(self._tails.values())),
            "organizations": len(self._tails),
        }

    def _join(self, listener: Listener) -> _Tail:
        tail = self._tails.get(listener.organization_pk)
        if tail is None:
            tail = self._tails[listener.organization_pk] = _Tail(self, listener.organization_pk)
        tail.listeners.add(listener)
        return tail

    def _leave(self, listener: Listener) -> None:
        tail = self._tails.get(listener.organization_pk)
        if tail is None:
            return
        tail.listeners.discard(listener)
        if not tail.listeners:
            tail.task.cancel()
            del self._tails[listener.organization_pk]
            # The tail and its task refer to each other until the garbage collector's next
            # full pass: drop what is big now.
            tail.ring.clear()
            tail.ring_bytes = 0


_hub: Hub | None = None


def get_hub() -> Hub:
    """This process's hub (created on first use; `await get_hub().start()` is idempotent)."""
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub


def hub_status() -> dict[str, Any] | None:
    """For /health: the hub's status when it runs in this process (the ASGI process), else None."""
    return _hub.status() if _hub is not None and _hub.started else None
