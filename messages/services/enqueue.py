"""Enqueueing the mail app's Celery tasks by name, through the Celery app's registry.

tasks.py imports the services it runs, so the services reach the tasks by name rather than by
importing them back. The registry hands out the task object itself: `.delay` runs it in-process
when CELERY_TASK_ALWAYS_EAGER is on (the embedded default) and sends it to the broker otherwise.
"""

from __future__ import annotations

from celery import current_app

# The names queued messages carry: they never change, wherever the functions live.
SEND_MESSAGE = "messages.tasks.send_message"
PROCESS_INBOUND_EMAIL = "messages.tasks.process_inbound_email_task"


def enqueue(task_name: str, *args: object) -> None:
    current_app.tasks[task_name].delay(*args)
