"""Anymail's inbound signal: any provider Anymail supports feeds the same pipeline."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailInboundEvent, inbound
from django.dispatch import receiver

from messages.services.receive import receive_raw_email


@receiver(inbound, dispatch_uid="sendook.receive_anymail_inbound")
def receive_anymail_inbound(
    sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any
) -> None:
    message = event.message
    if message is None:
        return
    esp = esp_name.lower().replace(" ", "_")
    if message.envelope_recipient:
        recipients = [message.envelope_recipient]
    else:  # providers that give no envelope: the visible recipients
        recipients = [address.addr_spec for address in [*message.to, *message.cc]]
    # No verdicts: Anymail's `spam_detected` comes from X-Spam-Status / X-Mailgun-Sflag headers
    # inside the message, which the sender can write too (see receiving._verdicts).
    # RawStorageFailed propagates: Anymail answers 5xx and the provider retries.
    receive_raw_email(
        message.as_bytes(),
        recipients=recipients,
        source=f"anymail:{esp}",
        notification_id=f"anymail:{esp}:{event.event_id}" if event.event_id else "",
    )
