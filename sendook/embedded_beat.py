"""The periodic sweeps of CELERY_BEAT_SCHEDULE, run inside the ASGI process on the embedded
defaults (no broker: tasks run in-process), so `make run` alone sends scheduled messages,
retries webhook deliveries, wakes snoozed threads and rechecks domains. With a broker, Celery
beat (`make worker`, the compose `beat` service) does this instead and this does nothing.

Every sweep is safe to run twice (rows are claimed with SKIP LOCKED or checked before acting),
so several ASGI worker processes each running it only repeat work, never double it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

# The first run of each sweep waits at most this long after start-up, so a message scheduled
# while the process was down goes out soon after it is back.
FIRST_RUN_SECONDS = 5.0


def interval_of(schedule: Any) -> float | None:
    """Seconds between runs of a beat entry, or None for a schedule this loop does not keep
    (a crontab: only Celery beat runs those)."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    run_every = getattr(schedule, "run_every", None)
    if isinstance(run_every, timedelta):
        return run_every.total_seconds()
    return None


def run_sweep(task_name: str) -> None:
    from sendook.celery import app

    close_old_connections()
    try:
        app.tasks[task_name].apply(throw=True)
    except Exception:  # a process edge: one failed sweep must not stop the others
        logger.exception("embedded beat: %s failed", task_name)
    finally:
        close_old_connections()


async def _keep_schedule(entries: dict[str, tuple[str, float]]) -> None:
    loop = asyncio.get_running_loop()
    due = {
        name: loop.time() + min(interval, FIRST_RUN_SECONDS)
        for name, (_, interval) in entries.items()
    }
    while True:
        for name, (task_name, interval) in entries.items():
            if due[name] <= loop.time():
                await sync_to_async(run_sweep, thread_sensitive=False)(task_name)
                due[name] = loop.time() + interval
        await asyncio.sleep(max(0.2, min(due.values()) - loop.time()))


@contextlib.asynccontextmanager
async def embedded_beat() -> AsyncIterator[None]:
    """For the ASGI lifespan: the sweeps run while the process serves."""
    if not (settings.CELERY_TASK_ALWAYS_EAGER and settings.SENDOOK_EMBEDDED_BEAT):
        yield
        return
    entries = {}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        interval = interval_of(entry.get("schedule"))
        if interval is None or interval <= 0:
            logger.info("embedded beat: %s has no fixed interval; only Celery beat runs it", name)
            continue
        entries[name] = (entry["task"], interval)
    runner = asyncio.create_task(_keep_schedule(entries)) if entries else None
    try:
        yield
    finally:
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
