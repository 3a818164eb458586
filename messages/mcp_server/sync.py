"""Sync ORM work from the async MCP server, on a small pool of threads of its own.

Not asgiref's default (thread_sensitive: one thread shared with every sync view of the
process, so MCP calls would queue behind each other and behind Django), and not a thread per
request either (a new database connection per call: +15 ms on PostgreSQL). A pool's threads
keep their connections between calls, which Django recycles as it does around a request
(CONN_MAX_AGE, health checks), so at most POOL_SIZE connections serve every MCP call of the
process, and a call that waits for mail (wait_for_message) holds neither a thread nor a
connection while it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

T = TypeVar("T")

# Enough for a send (with its local delivery) not to hold up the reads beside it; few enough
# that MCP alone never takes a large share of the database's connections.
POOL_SIZE = 8
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="mcp-orm")


def _job(work: Callable[[], T]) -> T:
    close_old_connections()  # as Django does when a request starts and ends
    try:
        return work()
    finally:
        close_old_connections()


async def run_sync(work: Callable[[], T]) -> T:
    return await sync_to_async(_job, thread_sensitive=False, executor=_pool)(work)
