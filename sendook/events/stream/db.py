"""The stream's database threads: a small pool of its own, not the thread Django's sync views
share under ASGI (sync_to_async's thread_sensitive mode), so a slow page never delays a
stream's wake-up and a burst of stream reads never queues in front of a page. Each thread
keeps its own connection, checked as a request's is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import OperationalError, close_old_connections, connection

DB_THREADS = 4

_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="sendook-stream-db")
_T = TypeVar("_T")


def _job(func: Callable[..., _T], *args: Any) -> _T:
    close_old_connections()  # as at the start of a request: drop a connection past its age
    try:
        return func(*args)
    except Exception:
        connection.close()  # a broken connection (database restarted) is not used again
        raise


# SQLite answers a read that meets another connection's write lock with "locked" at once in
# some modes (shared cache), whatever its busy timeout: a stream's read is tried again then.
LOCKED_RETRIES = 5


async def run_db(func: Callable[..., _T], *args: Any) -> _T:
    """`func(*args)` on the stream's database threads (reads, or numbering in a transaction
    of its own: safe to run again)."""
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            return await sync_to_async(_job, thread_sensitive=False, executor=_executor)(
                func, *args
            )
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == LOCKED_RETRIES:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
