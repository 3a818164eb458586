"""The message object of API.md as event payloads carry it (bodies, no attachment bytes)."""

from typing import Any

from messages.models import Message


def message_payload(message: Message) -> dict[str, Any]:
    from messages.serializers import MessageSerializer

    return dict(MessageSerializer(message).data)
