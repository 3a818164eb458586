"""Per-organization stream slots: at most SENDOOK_STREAM_MAX_PER_ORG open streams (0: no limit).

With Redis (SENDOOK_STREAM_URL) the slots are leases in one sorted set per organization, so
every process counts the same streams: a slot expires LEASE_SECONDS after it was last renewed,
and each process renews all of its slots every RENEW_SECONDS in one round trip
(`keep_leases`, run by the hub), so the slots of a process that crashed are free again within
LEASE_SECONDS, before most of its clients have reconnected. Without Redis, or while it cannot
be reached, each process counts its own streams.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter

from django.conf import settings

from sendook.events.stream import fanout
from sendook.exceptions import RateLimited

logger = logging.getLogger(__name__)

KEY = "sendook:stream:slots:{}"
# Redis's clock, so that processes on several machines agree on when a lease ends.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if tonumber(ARGV[1]) > 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""
_RENEW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', t + tonumber(ARGV[1]), ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 1)
return 1
"""

LEASE_SECONDS = 15.0
RENEW_SECONDS = 5.0

_local: Counter[int] = Counter()
_shared: set[Slot] = set()


class TooManyStreams(RateLimited):
    code = "too_many_streams"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This organization already has {limit} open event streams; close one or retry later",
            headers={"Retry-After": "5"},
            extra={"limit": limit},
        )


class Slot:
    def __init__(self, organization_pk: int, *, shared: bool) -> None:
        self.organization_pk = organization_pk
        self.shared = shared  # held in Redis (else in this process's count)
        self.member = secrets.token_hex(8)
        self.released = False

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        _shared.discard(self)
        if not self.shared:
            _local[self.organization_pk] -= 1
            if _local[self.organization_pk] <= 0:
                del _local[self.organization_pk]
            return
        try:
            client = fanout.async_client(settings.SENDOOK_STREAM_URL)
            await client.zrem(KEY.format(self.organization_pk), self.member)
        except Exception as exc:  # the lease expires on its own
            logger.warning("stream: releasing a stream slot in Redis failed: %s", exc)


async def acquire_slot(organization_pk: int) -> Slot:
    """A slot for one more stream of the organization, or TooManyStreams (429)."""
    limit = settings.SENDOOK_STREAM_MAX_PER_ORG
    url = settings.SENDOOK_STREAM_URL
    if url:
        slot = Slot(organization_pk, shared=True)
        try:
            client = fanout.async_client(url)
            granted = await client.eval(
                _ACQUIRE, 1, KEY.format(organization_pk), limit, LEASE_SECONDS, slot.member
            )
        except Exception as exc:
            logger.warning("stream: Redis unreachable for stream slots (counting here): %s", exc)
        else:
            if not int(granted):
                raise TooManyStreams(limit)
            _shared.add(slot)
            return slot
    if limit > 0 and _local[organization_pk] >= limit:
        raise TooManyStreams(limit)
    _local[organization_pk] += 1
    return Slot(organization_pk, shared=False)


async def keep_leases() -> None:
    """Renews every Redis slot of this process, every RENEW_SECONDS, in one pipeline."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        slots = [slot for slot in list(_shared) if not slot.released]
        if not slots:
            continue
        try:
            client = fanout.async_client(settings.SENDOOK_STREAM_URL)
            async with client.pipeline(transaction=False) as pipe:
                for slot in slots:
                    key = KEY.format(slot.organization_pk)
                    pipe.eval(_RENEW, 1, key, LEASE_SECONDS, slot.member)
                await pipe.execute()
        except Exception as exc:  # leases lapse early and free slots: the limit errs lenient
            logger.warning("stream: renewing stream slots in Redis failed: %s", exc)
