"""The hub in this process, on the real database: what many listeners of one organization cost,
catching up, and a listener that is not taking its items."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.events.stream import Hub, StreamOverflow

# The hub reads on threads of its own: the rows must be committed for them to see.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _polling_only_rarely(settings):
    """No Redis and a 60 s poll: whatever wakes the hub in these tests is the commit itself."""
    settings.SENDOOK_STREAM_URL = ""
    settings.SENDOOK_STREAM_POLL_SECONDS = 60
    settings.SENDOOK_STREAM_HEARTBEAT_SECONDS = 60


def _record(organization, count: int = 1) -> list[str]:
    return [
        record_event(organization, event_type=EventType.INBOX_UPDATED, payload={"n": n}).public_id
        for n in range(count)
    ]


record = sync_to_async(_record, thread_sensitive=False)


def test_a_thousand_listeners_of_one_organization_cost_one_read_per_wake(org):
    async def scenario():
        hub = Hub()
        await hub.start()
        try:
            head = await hub.head(org.pk)
            listeners = [hub.listen(org.pk, after_seq=head) for _ in range(1000)]
            for listener in listeners:
                await listener.__aenter__()
            assert hub.status() == {
                "fanout": "polling",
                "connected": True,
                "streams": 1000,
                "organizations": 1,
            }
            tail = hub._tails[org.pk]
            while not tail.reads:  # its first read, right after it took the head
                await asyncio.sleep(0.01)
            reads = tail.reads
            [written] = await record(org)
            batches = await asyncio.gather(*(listener.next(timeout=10) for listener in listeners))
            assert tail.reads - reads == 1
            assert {batch[0].id for batch in batches} == {written}
            # Built and serialized once, handed to all.
            assert len({id(batch[0]) for batch in batches}) == 1
            assert batches[0][0].data.startswith('{"id":"' + written)
            for listener in listeners:
                await listener.__aexit__(None, None, None)
            assert hub.status()["organizations"] == 0
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_a_listener_behind_the_tail_catches_up_then_follows_it_without_gap_or_repeat(org):
    async def scenario():
        hub = Hub()
        await hub.start()
        try:
            early = await record(org, 3)
            async with hub.listen(org.pk, after_seq=0) as behind:
                late = await record(org, 2)
                got: list[str] = []
                while len(got) < 5:
                    got += [item.id for item in await behind.next(timeout=10)]
                assert got == early + late
                # A second listener joining behind the live tail catches up from its ring.
                async with hub.listen(org.pk, after_seq=behind.last_seq - 2) as second:
                    more = await record(org, 1)
                    seen: list[str] = []
                    while len(seen) < 3:
                        seen += [item.id for item in await second.next(timeout=10)]
                    assert seen == late + more
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_a_listener_that_does_not_take_its_items_overflows(org):
    async def scenario():
        hub = Hub()
        await hub.start()
        try:
            async with hub.listen(org.pk, after_seq=await hub.head(org.pk), buffer=2) as slow:
                async with hub.listen(org.pk, after_seq=await hub.head(org.pk)) as other:
                    taken = 0
                    for _ in range(4):
                        await record(org, 1)
                        taken += len(await other.next(timeout=10))
                    assert taken == 4
                    assert slow.overflowed.is_set()
                    with pytest.raises(StreamOverflow):
                        await slow.next(timeout=1)
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_no_listener_no_reader_and_next_times_out_empty(org):
    async def scenario():
        hub = Hub()
        await hub.start()
        try:
            async with hub.listen(org.pk, after_seq=await hub.head(org.pk)) as listener:
                assert await listener.next(timeout=0.05) == []
            assert hub.status()["streams"] == 0
        finally:
            await hub.stop()

    asyncio.run(scenario())
