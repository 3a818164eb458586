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
from messages.models import InboundEmail
from messages.payloads import message_payload
from messages.services.receive import process_inbound_email, receive_raw_email


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
            record = receive_raw_email(raw, recipients=to, source="cli")
        except RawStorageFailed as exc:
            raise CommandError(f"could not store the message: {exc.message}") from exc
        # The on-commit task has normally run already (in-process tasks); with a broker this
        # processes it here so the output is the result. Processing twice creates nothing new.
        record.refresh_from_db()
        if record.status == InboundEmail.Status.PENDING:
            try:
                process_inbound_email(record)
            except Exception as exc:  # the raw record is safe; report, do not lose it
                record.refresh_from_db()
                self.stderr.write(f"processing failed: {exc}; reprocess {record.public_id}")
        record.refresh_from_db()
        if record.status == InboundEmail.Status.QUARANTINED:
            output: Any = {
                "inboundId": record.public_id,
                "quarantined": True,
                "reason": record.quarantine_reason,
            }
        elif record.status != InboundEmail.Status.PROCESSED:
            output = {"inboundId": record.public_id, "status": record.status, "error": record.error}
        else:
            output = [
                message_payload(message)
                for message in record.messages.select_related(
                    "organization", "inbox", "thread", "from_inbox", "to_inbox"
                ).order_by("id")
            ]
        self.stdout.write(json.dumps(output, indent=2))
