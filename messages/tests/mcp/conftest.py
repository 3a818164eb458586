"""Helpers for the /mcp tests: the MCP SDK's own client session against the live ASGI server
(`live_asgi`), and plain httpx for the REST API and for raw JSON-RPC."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


@asynccontextmanager
async def mcp_session(url: str, key: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(30, read=120)
    async with httpx.AsyncClient(headers=headers, timeout=timeout) as http:
        async with streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured content; fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content[0].text
    assert json.loads(result.content[0].text) == result.structuredContent or tool in (
        "get_thread_context",  # its text is the transcript
    )
    return result.structuredContent


async def refused(session: ClientSession, tool: str, **arguments: Any) -> tuple[str, str]:
    """(text, code) of a tool error; fails the test if the call succeeded."""
    result = await session.call_tool(tool, arguments)
    assert result.isError, f"{tool} succeeded: {result.structuredContent}"
    return result.content[0].text, (result.structuredContent or {}).get("code", "")


class Rest:
    """The REST API of the live server, as one key."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def __call__(self, method: str, path: str, body: Any = None, status: int = 0) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 400 or status, response.text
        if status:
            assert response.status_code == status, response.text
        return response.json() if response.content else None

    def inbox(self, name: str = "Agent") -> dict[str, Any]:
        return self("POST", "/inboxes", {"name": name})

    def key(self, **body: Any) -> str:
        return self("POST", "/api_keys", {"name": "scoped", **body})["key"]


@pytest.fixture(scope="module")
def live_org(asgi_server):
    """An organization on the live server for this file's tests, (org, its REST API): each
    test makes its own inboxes and keys in it, so one organization is enough (createorg is a
    Django start-up in a subprocess: seconds on a busy machine)."""
    if asgi_server.process is None or asgi_server.process.poll() is not None:
        asgi_server.start()
    org = asgi_server.new_org()
    return org, Rest(asgi_server.url, org.api_key)
