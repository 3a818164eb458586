"""The Celery app. Without CELERY_BROKER_URL tasks run in-process (the embedded default)."""

import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")

app = Celery("sendook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set, so every send paid for a new PostgreSQL connection (a server
# process forked, authenticated and set up): more than the send's own queries. Keep the fixup
# from closing them and close them the way Django does after a request instead: a connection
# past CONN_MAX_AGE (0 on SQLite: closed after every task, as before), or one that saw an error
# and fails its health check (a database restart), is closed; a healthy one is reused.
app.conf.CELERY_DB_REUSE_MAX = 10**9

# Django's health check (CONN_HEALTH_CHECKS) costs a `SELECT 1` round trip at the start of every
# task. A connection that just finished a task cleanly is as good as checked, so it is checked
# again only after the worker sat idle: a database that restarted in the gap between two busy
# tasks fails the first query, which the task retries within seconds (messages.tasks).
IDLE_BEFORE_HEALTH_CHECK = 1.0
_last_task_done = float("-inf")


def _eager(sender) -> bool:  # type: ignore[no-untyped-def]
    """An eager task runs inside the caller's request or transaction: leave its connections."""
    return bool(getattr(getattr(sender, "request", None), "is_eager", False))


@task_prerun.connect
def _check_connections_after_idle(sender=None, **kwargs):  # type: ignore[no-untyped-def]
    if _eager(sender) or time.monotonic() - _last_task_done < IDLE_BEFORE_HEALTH_CHECK:
        return
    from django.db import close_old_connections

    close_old_connections()  # also re-arms the health check for the first query


@task_postrun.connect
def _close_old_connections(sender=None, **kwargs):  # type: ignore[no-untyped-def]
    global _last_task_done
    if _eager(sender):
        return
    from django.db import close_old_connections, connections

    close_old_connections()
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            connection.health_check_done = True
    _last_task_done = time.monotonic()
