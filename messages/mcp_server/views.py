"""/mcp in the WSGI process (gunicorn sendook.wsgi): MCP's streamable HTTP holds a request open
for as long as a tool runs (wait_for_message: up to a minute), which a sync worker must not do,
so only the ASGI process serves it. Here the path answers where to go, as JSON."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sendook.api.errors import error_json
from sendook.exceptions import ServedByAsgi


@csrf_exempt  # an MCP client POSTs with a bearer key, never a session cookie
def served_by_asgi(request: HttpRequest) -> JsonResponse:
    return error_json(ServedByAsgi("/mcp"))
