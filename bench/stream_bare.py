"""The stream benchmark's bare baseline: the least a Python SSE fan-out can do on this machine.

    uvicorn bench.stream_bare:app     (BENCH_BARE_REDIS=redis://..., BENCH_BARE_CHANNEL=name)

No Django, no database, no auth: one Redis pub/sub subscription; each published message (JSON
with an "id") becomes one SSE frame, built once, queued to every open stream, and each stream
writes what its queue holds. The same uvicorn, the same clients and the same rate as the
product's run, so the difference is what the product adds (auth, the database read of each
event, ordering by feed_seq, filtering, the hub). Never part of the test run.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

QUEUES: set[asyncio.Queue[bytes]] = set()
TASKS: set[asyncio.Task] = set()


async def _follow() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(os.environ["BENCH_BARE_REDIS"])
    pubsub = client.pubsub()
    await pubsub.subscribe(os.environ["BENCH_BARE_CHANNEL"])
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        data = message["data"]
        event_id = json.loads(data)["id"]
        frame = b"id: %s\nevent: message.received\ndata: %s\n\n" % (event_id.encode(), data)
        for queue in QUEUES:
            queue.put_nowait(frame)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                task = asyncio.get_running_loop().create_task(_follow())
                TASKS.add(task)
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    QUEUES.add(queue)
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"retry: 3000\n\n", "more_body": True})
        while True:
            frames = [await queue.get()]
            while not queue.empty():
                frames.append(queue.get_nowait())
            await send({"type": "http.response.body", "body": b"".join(frames), "more_body": True})
    except OSError:
        pass
    finally:
        QUEUES.discard(queue)
