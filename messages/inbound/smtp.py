"""An SMTP listener (aiosmtpd) so a self-hoster can receive mail without any provider.

Unknown recipients are refused at RCPT time (550) so the sending server bounces them, and the
size limit is announced with SIZE and enforced (552). Accepted mail goes through
`receive_raw_email` like every other way in; if the raw bytes cannot be stored the sender is
told to retry (451) rather than the message being lost.

Sendook is the receiving MTA here, so it records what SPF is checked against — the connecting
address, the HELO name and the envelope sender (MAIL FROM) — on the InboundEmail; the checks
themselves run with the rest of the pipeline (messages/services/authentication.py), not while
the sender waits.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction

from messages.exceptions import RawStorageFailed
from messages.models import InboundEmail
from messages.services.receive import receive_raw_email
from messages.services.routing import is_hosted_address

logger = logging.getLogger(__name__)


def _is_hosted(address: str) -> bool:
    close_old_connections()  # long-lived process: drop connections the database closed
    return is_hosted_address(address)


def _store(raw: bytes, recipients: list[str], connection: dict[str, Any]) -> str:
    close_old_connections()
    # One transaction: the connection facts are on the record before it is queued for parsing
    # (receive_raw_email enqueues on commit).
    with transaction.atomic():
        record = receive_raw_email(raw, recipients=recipients, source="smtp")
        InboundEmail.objects.filter(pk=record.pk).update(**connection)
    return record.public_id


def connection_facts(session: Session, envelope: Envelope) -> dict[str, Any]:
    """client_ip, helo and mail_from of an SMTP transaction, as the SPF check needs them."""
    peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else None
    try:
        ip = ipaddress.ip_address(str(peer)) if peer else None
    except ValueError:
        ip = None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return {
        "client_ip": str(ip) if ip else None,
        "helo": _clean(session.host_name or "")[:255],
        "mail_from": _clean(envelope.mail_from or "")[:320],
    }


def _clean(value: str) -> str:
    return str(value).replace("\x00", "").strip()


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
                raw, list(envelope.rcpt_tos), connection_facts(session, envelope)
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
