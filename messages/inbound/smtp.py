"""An SMTP listener (aiosmtpd) so a self-hoster can receive mail without any provider.

Unknown recipients are refused at RCPT time (550) so the sending server bounces them, and the
size limit is announced with SIZE and enforced (552). Accepted mail goes through
`receive_raw_email` like every other way in; if the raw bytes cannot be stored the sender is
told to retry (451) rather than the message being lost.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from messages.exceptions import RawStorageFailed
from messages.services.receive import receive_raw_email
from messages.services.routing import is_hosted_address

logger = logging.getLogger(__name__)


def _is_hosted(address: str) -> bool:
    close_old_connections()  # long-lived process: drop connections the database closed
    return is_hosted_address(address)


def _store(raw: bytes, recipients: list[str]) -> str:
    close_old_connections()
    return receive_raw_email(raw, recipients=recipients, source="smtp").public_id


class SendookSmtpHandler:
    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            hosted = await sync_to_async(_is_hosted, thread_sensitive=False)(address)
        except Exception:  # database down: let the sender retry later
            logger.exception("smtpd: could not look up %s", address)
            return "451 4.3.0 Temporary lookup failure, try again later"
        if not hosted:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            public_id = await sync_to_async(_store, thread_sensitive=False)(
                raw, list(envelope.rcpt_tos)
            )
        except RawStorageFailed:
            return "451 4.3.0 Could not store the message, try again later"
        except Exception:
            logger.exception("smtpd: could not store a message")
            return "451 4.3.0 Could not store the message, try again later"
        return f"250 2.0.0 Queued as {public_id}"


def build_controller(host: str, port: int, **kwargs: Any) -> Controller:
    return Controller(
        SendookSmtpHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.SENDOOK_INBOUND_MAX_BYTES,
        decode_data=False,
        server_hostname=settings.SENDOOK_DEFAULT_DOMAIN,
        **kwargs,
    )
