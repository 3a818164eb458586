"""The message object as event payloads carry it (the API's shape: bodies, no attachment
bytes), and the way callers hand it rows they already hold instead of it querying them."""

from typing import Any

from messages.models import Attachment, Message


def message_payload(message: Message) -> dict[str, Any]:
    from messages.api.serializers import MessageSerializer

    return dict(MessageSerializer(message).data)


def prefetch_rows(instance: Message, relation: str, rows: list[Attachment]) -> None:
    """Fills a reverse relation's prefetch cache with rows we already hold."""
    queryset = getattr(instance, relation).all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    instance._prefetched_objects_cache = {relation: queryset}  # type: ignore[attr-defined]
