"""Sync ORM work from the async MCP server.

Each MCP request runs in its own asgiref ThreadSensitiveContext (auth.py), so `run_sync` puts
its work on that request's own thread, as Django's ASGI handler does per request, rather than
queueing behind every other request on one shared thread. The thread ends with the request, so
its database connection is closed after each piece of work instead of being left to the
garbage collector: a tool waiting for mail (wait_for_message) holds no connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

T = TypeVar("T")


def _in_thread(work: Callable[[], T]) -> Callable[[], T]:
    def run() -> T:
        close_old_connections()  # as Django does when a request starts
        try:
            return work()
        finally:
            connections.close_all()

    return run


async def run_sync(work: Callable[[], T]) -> T:
    return await sync_to_async(_in_thread(work))()
