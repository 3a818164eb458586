"""The live event stream: GET /v1/events/stream (Server-Sent Events over the event log), served
by the ASGI process (sendook/asgi.py). `hub` reads each organization's feed once for all its
listeners, `fanout` wakes the hubs of every process when events commit, `limits` caps the open
streams per organization, `params` checks what a stream asks for, `app` serves one stream."""

from sendook.events.stream.app import (
    Authenticator,
    StreamClient,
    api_key_stream_client,
    stream_app,
)
from sendook.events.stream.fanout import announce_on_commit
from sendook.events.stream.hub import (
    FeedItem,
    Hub,
    Listener,
    StreamOverflow,
    get_hub,
    hub_status,
)

__all__ = [
    "Authenticator",
    "FeedItem",
    "Hub",
    "Listener",
    "StreamClient",
    "StreamOverflow",
    "announce_on_commit",
    "api_key_stream_client",
    "get_hub",
    "hub_status",
    "stream_app",
]
