"""`python manage.py receive_email [--to ADDR …] < message.eml`: run one raw message through the
inbound pipeline and print the resulting messages as JSON (or why it was quarantined).

Exit status 0 when the raw bytes were stored (delivered, quarantined or failed later: all are
on record and reprocessable); non-zero only when not even the raw bytes could be stored.
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messages.exceptions import RawStorageFailed
from messages.inbound.cli import receive_from_cli


class Command(BaseCommand):
    help = "Receive a raw RFC 5322 message from stdin into the hosted inboxes it is addressed to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            action="append",
            default=[],
            metavar="ADDR",
            help="Envelope recipient (repeatable). Default: the To and Cc headers.",
        )

    def handle(self, *args: Any, to: list[str], **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        try:
            output = receive_from_cli(raw, to=to, stderr=self.stderr)
        except RawStorageFailed as exc:
            raise CommandError(f"could not store the message: {exc.message}") from exc
        self.stdout.write(json.dumps(output, indent=2))
