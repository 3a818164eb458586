"""End to end with real processes: the smtpd command stores raw mail and enqueues on Redis; a
Celery worker parses it. Needs PostgreSQL (both processes share the test database) and Redis."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message
from messages.tests.inbound.mail import build_email
from sendook.events.models import Event

ROOT = Path(__file__).resolve().parents[3]
BROKER = os.environ.get("SENDOOK_TEST_BROKER_URL", "redis://127.0.0.1:6379/7")

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_smtp_mail_is_parsed_by_a_real_worker_through_redis(org):
    if connection.vendor != "postgresql" or not redis_reachable():
        pytest.skip("needs PostgreSQL and Redis")
    inbox = InboxFactory(organization=org, email="support@sendook.localhost")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sendook", "worker", "--pool", "solo",
         "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    smtpd = subprocess.Popen(
        [sys.executable, "manage.py", "smtpd", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def smtp_up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        assert wait_for(smtp_up), "smtpd did not start"
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "ada@example.org",
                ["support@sendook.localhost"],
                build_email(
                    subject="Through the worker", attachments=[("a.txt", "text/plain", b"A")]
                ),
            )
        # The raw record exists as soon as SMTP said 250, before any parsing.
        assert InboundEmail.objects.filter(source="smtp").exists()

        assert wait_for(lambda: Message.objects.filter(inbox=inbox).exists()), (
            "the worker did not deliver the message"
        )
        message = Message.objects.get(inbox=inbox)
        assert message.subject == "Through the worker"
        assert message.attachments.get().file.read() == b"A"
        assert InboundEmail.objects.get().status == InboundEmail.Status.PROCESSED
        assert Event.objects.filter(type="message.received").count() == 1
    finally:
        for process in (smtpd, worker):
            process.terminate()
        for process in (smtpd, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
