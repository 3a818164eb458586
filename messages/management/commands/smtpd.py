"""`python manage.py smtpd --host 127.0.0.1 --port 2525`: receive mail over SMTP."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messages.inbound.smtp import build_controller


class Command(BaseCommand):
    help = "Accept mail for hosted inboxes over SMTP (refuses other recipients at RCPT time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        controller = build_controller(host, port)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        controller.start()
        self.stdout.write(f"smtpd listening on {host}:{port}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
