"""/mcp: Sendook's Model Context Protocol server (the official `mcp` SDK's FastMCP, streamable
HTTP, stateless), served by the ASGI process beside the event stream.

- `app.py`: the FastMCP server, `mcp_app` (the ASGI app sendook/asgi.py routes /mcp to) and
  `mcp_lifespan()` (the SDK session manager's run(), one per process).
- `auth.py`: the bearer API key in front of it (401 JSON like /v1), the key as `current_client()`.
- `sync.py`: sync ORM work on a small thread pool of its own.
- `calls.py`: what every tool shares: the key's scope, the API's rate limits, sync ORM work off
  the event loop, the API's JSON as the result and its error `code` as a tool error.
- `tools/`: the tools, by concern; `resources.py`: threads and inboxes as resources.
- `views.py`: the WSGI process's /mcp, which says where the MCP server is served.

Tools are thin like the API's actions: arguments through the API's own input serializers, one
service or selector call, the API's output serializer.
"""
