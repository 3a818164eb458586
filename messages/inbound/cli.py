"""Receiving one raw message from the command line (`manage.py receive_email`): store it, make
sure it has been processed, and describe the outcome as the API would (the messages it became,
or why it was quarantined or failed)."""

from __future__ import annotations

from typing import Any, TextIO

from messages.models import InboundEmail
from messages.payloads import message_payload
from messages.services.receive import process_inbound_email, receive_raw_email


def receive_from_cli(raw: bytes, *, to: list[str], stderr: TextIO) -> Any:
    """Raises RawStorageFailed when not even the raw bytes could be stored."""
    record = receive_raw_email(raw, recipients=to, source="cli")
    # The on-commit task has normally run already (in-process tasks); with a broker this
    # processes it here so the output is the result. Processing twice creates nothing new.
    record.refresh_from_db()
    if record.status == InboundEmail.Status.PENDING:
        try:
            process_inbound_email(record)
        except Exception as exc:  # the raw record is safe; report, do not lose it
            record.refresh_from_db()
            stderr.write(f"processing failed: {exc}; reprocess {record.public_id}")
    record.refresh_from_db()
    if record.status == InboundEmail.Status.QUARANTINED:
        return {
            "inboundId": record.public_id,
            "quarantined": True,
            "reason": record.quarantine_reason,
        }
    if record.status != InboundEmail.Status.PROCESSED:
        return {"inboundId": record.public_id, "status": record.status, "error": record.error}
    return [
        message_payload(message)
        for message in record.messages.select_related(
            "organization", "inbox", "thread", "from_inbox", "to_inbox"
        ).order_by("id")
    ]
