"""The ASGI process (uvicorn sendook.asgi:application): Django for every page and /v1 route,
plus what only an async process can serve without holding a worker per client: the event
stream and the routes the other parts add to ROUTES. It speaks the ASGI lifespan protocol
itself, to start the stream hub (and every LIFESPAN context) before the first request and
stop them after the last."""

import logging
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sendook.settings")
django_application = get_asgi_application()

# After Django is set up: these import models.
from messages.mcp_server.app import mcp_app, mcp_lifespan  # noqa: E402
from messages.ui.live import staff_stream_client  # noqa: E402  (the staff UI's stream)
from sendook.embedded_beat import embedded_beat  # noqa: E402
from sendook.events.stream import api_key_stream_client, get_hub, stream_app  # noqa: E402
from sendook.startup import refuse_public_secret_key  # noqa: E402

refuse_public_secret_key()

logger = logging.getLogger(__name__)
ASGIApp = Callable[..., Any]


@asynccontextmanager
async def hub_lifespan() -> Any:
    hub = get_hub()
    await hub.start()
    hub.close_all_on_exit_signals()
    try:
        yield
    finally:
        await hub.stop()


# An exact path, or a prefix followed by "/"; the first match wins; everything else: Django.
ROUTES: list[tuple[str, ASGIApp]] = [
    ("/v1/events/stream", stream_app(api_key_stream_client)),
    ("/live/events", stream_app(staff_stream_client)),
    ("/mcp", mcp_app),
]
LIFESPAN: list[Callable[[], AbstractAsyncContextManager[Any]]] = [
    hub_lifespan,
    mcp_lifespan,
    embedded_beat,
]


def route(path: str) -> ASGIApp:
    for prefix, app in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return app
    return django_application


async def lifespan(receive: Any, send: Any) -> None:
    async with AsyncExitStack() as stack:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            for context in LIFESPAN:
                await stack.enter_async_context(context())
        except Exception as exc:
            logger.exception("ASGI startup failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        try:
            await stack.aclose()
        except Exception as exc:
            logger.exception("ASGI shutdown failed")
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
    await send({"type": "lifespan.shutdown.complete"})


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await route(scope.get("path", ""))(scope, receive, send)
