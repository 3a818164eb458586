"""The Celery app. Without CELERY_BROKER_URL tasks run in-process (the embedded default)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")

app = Celery("sendook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set, so every send paid for a new PostgreSQL connection (a server
# process forked, authenticated and set up): more than the send's own queries. Keep the fixup
# from closing them and treat each task like Django treats a request: close_old_connections()
# before and after, which closes a connection past CONN_MAX_AGE (0 on SQLite: closed after every
# task, as before) or one that saw an error and fails its health check (a database restart),
# and keeps a healthy one.
app.conf.CELERY_DB_REUSE_MAX = 10**9


def _eager(sender) -> bool:  # type: ignore[no-untyped-def]
    """An eager task runs inside the caller's request or transaction: leave its connections."""
    return bool(getattr(getattr(sender, "request", None), "is_eager", False))


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **kwargs):  # type: ignore[no-untyped-def]
    if _eager(sender):
        return
    from django.db import close_old_connections

    close_old_connections()
